import type { RouteHandler } from '@hono/zod-openapi';
import { ZodError } from 'zod';
import {
  conflict,
  FailureType,
  RelguardError,
  type PacerConfig,
  type REDMetrics,
  type RollbackPolicy,
} from '../../domain';
import {
  maskedValueIssues,
  redactApplication,
  restoreRedacted,
} from '../../domain/application-redaction';
import { unjudgeableTiming } from '../../domain/guard-timing';
import { maxRangeSeconds, redTemplateIssues } from '../../domain/promql-templates';
import { releaseMarkers } from '../../domain/release-timeline';
import type { ApiEnv, ApiVariables } from '../context';
import { errorBody, validationBody, type ErrorEnvelope } from '../errors';
import { prometheusOf } from '../prometheus-series';
import { queryRedMetrics } from './red-metrics';
import type * as routes from './routes';

/** What the guard reads of an application, as it will be stored. */
interface GuardedSettings {
  red_metrics_config: REDMetrics;
  rollback_policy: RollbackPolicy;
  pacer: PacerConfig;
}

/**
 * The 422 body for RED templates or custom rules the guard would misread (see
 * domain/promql-templates.ts), or a policy it could never judge at Prometheus' scrape interval
 * (domain/guard-timing.ts), each named by its field as the schema's own refusals are.
 */
function guardRefusal(
  app: GuardedSettings,
  scrapeIntervalSeconds: number,
): ErrorEnvelope | undefined {
  const templateIssues = redTemplateIssues(app.red_metrics_config, app.rollback_policy.rules);
  // Rate windows are only known once the templates parse.
  const issues =
    templateIssues.length > 0
      ? templateIssues
      : unjudgeableTiming(app, {
          scrapeIntervalSeconds,
          rangeSeconds: maxRangeSeconds(app.red_metrics_config, app.rollback_policy.rules),
        });
  return refusalOf(issues);
}

/** The 422 body naming each field of `issues`, or undefined when there are none. */
function refusalOf(issues: { path: PropertyKey[]; message: string }[]): ErrorEnvelope | undefined {
  if (issues.length === 0) return undefined;
  const error = new ZodError(
    issues.map(({ path, message }) => ({
      code: 'custom' as const,
      path,
      message,
      input: undefined,
    })),
  );
  return validationBody(error, 'request body');
}

/**
 * The 422 body for a rollback_policy.notify that names a channel the channel store does not
 * have (each named by its index, with the channels there are), or undefined when all exist:
 * an alert to an unknown channel would only fail when the release needs it.
 */
async function unknownChannelRefusal(
  vars: Pick<ApiVariables, 'store'>,
  notify: readonly string[] | undefined,
): Promise<ErrorEnvelope | undefined> {
  if (notify === undefined || notify.length === 0) return undefined;
  const known = (await vars.store.notifyChannels.list()).map((channel) => channel.name);
  const listed =
    known.length === 0
      ? 'there are none'
      : `they are ${known.map((name) => JSON.stringify(name)).join(', ')}`;
  return refusalOf(
    notify.flatMap((name, index) =>
      known.includes(name)
        ? []
        : [
            {
              path: ['rollback_policy', 'notify', index],
              message: `rollback_policy.notify[${index}] names channel ${JSON.stringify(name)}, which is not configured (${listed}): add it with PUT /api/v1/channels/${encodeURIComponent(name)} or NOTIFY_CHANNELS`,
            },
          ],
    ),
  );
}

/** The role the answer is redacted for: the token's (the least when there is none). */
const roleOf = (vars: Pick<ApiVariables, 'principal'>) => vars.principal?.role ?? 'viewer';

export const createApplication: RouteHandler<typeof routes.createApplication, ApiEnv> = async (
  c,
) => {
  const input = c.req.valid('json');
  const masked = refusalOf(maskedValueIssues(input));
  if (masked !== undefined) return c.json(masked, 422);
  const refusal = guardRefusal(input, c.var.scrapeIntervalSeconds);
  if (refusal !== undefined) return c.json(refusal, 422);
  const unknownChannel = await unknownChannelRefusal(c.var, input.rollback_policy.notify);
  if (unknownChannel !== undefined) return c.json(unknownChannel, 422);
  const app = await c.var.store.applications.create(input);
  c.var.logger.info({ app: app.name, id: app.id }, 'application created');
  try {
    await c.var.releases.watchHealth(app);
  } catch (error) {
    // The application exists: the api starts every missing watcher once Temporal is back
    // (api/health-watchers.ts). Until then its machines keep their stored statuses.
    c.var.logger.error(
      { app: app.name, id: app.id, err: error },
      'health watcher not started; retried in the background',
    );
  }
  return c.json(redactApplication(app, roleOf(c.var)), 201);
};

export const listApplications: RouteHandler<typeof routes.listApplications, ApiEnv> = async (c) => {
  const role = roleOf(c.var);
  const items = await c.var.store.applications.list();
  return c.json({ items: items.map((app) => redactApplication(app, role)) }, 200);
};

export const getApplication: RouteHandler<typeof routes.getApplication, ApiEnv> = async (c) =>
  c.json(
    redactApplication(await c.var.store.applications.get(c.req.valid('param').id), roleOf(c.var)),
    200,
  );

export const updateApplication: RouteHandler<typeof routes.updateApplication, ApiEnv> = async (
  c,
) => {
  const { id } = c.req.valid('param');
  // No Content-Type means no body (one with a body and no type is a 415 before the handler),
  // and the validator then passes an empty update, which would answer 200 changing nothing:
  // the body is required, and its absence is refused as an empty JSON body is.
  if (c.req.header('content-type') === undefined) {
    return c.json(
      errorBody(
        'bad_request',
        'a body is required: a JSON object (application/json) of the fields to set',
      ),
      400,
    );
  }
  const { applications } = c.var.store;
  // The templates and the rules are checked together as they will be stored: a change of the
  // rules alone is checked against the stored templates, and the other way round. updateFrom
  // writes only if nobody changed the application since this read.
  const current = await applications.get(id);
  // A body that carries back the masks GET gave keeps the stored secrets (domain/application-redaction.ts).
  const update = restoreRedacted(c.req.valid('json'), current);
  const masked = refusalOf(maskedValueIssues(update));
  if (masked !== undefined) return c.json(masked, 422);
  const refusal = guardRefusal(
    {
      red_metrics_config: update.red_metrics_config ?? current.red_metrics_config,
      rollback_policy: update.rollback_policy ?? current.rollback_policy,
      pacer: update.pacer ?? current.pacer,
    },
    c.var.scrapeIntervalSeconds,
  );
  if (refusal !== undefined) return c.json(refusal, 422);
  const unknownChannel = await unknownChannelRefusal(c.var, update.rollback_policy?.notify);
  if (unknownChannel !== undefined) return c.json(unknownChannel, 422);
  const app = await applications.updateFrom(current, update);
  c.var.logger.info({ app: app.name, id }, 'application updated');
  return c.json(redactApplication(app, roleOf(c.var)), 200);
};

export const deleteApplication: RouteHandler<typeof routes.deleteApplication, ApiEnv> = async (
  c,
) => {
  const { id } = c.req.valid('param');
  const { machines: decision } = c.req.valid('query');
  const { applications, deployments } = c.var.store;
  const { releases, logger } = c.var;
  const app = await applications.get(id);
  const active = await deployments.findActive(id);
  if (active !== undefined) {
    throw conflict(`${app.name} has a release in progress (${active.id}); end it first`, {
      deployment_id: active.id,
    });
  }
  const running = app.machines
    .filter((machine) => machine.version !== '')
    .map((machine) => ({
      machine_id: machine.id,
      host: machine.host,
      port: machine.port,
      version: machine.version,
    }));
  if (running.length > 0 && decision === undefined) {
    throw conflict(
      `${app.name} has ${running.length} machine(s) running a version relguard deployed (${running
        .map((machine) => `${machine.machine_id} ${machine.version}`)
        .join(
          ', ',
        )}): say ?machines=stop to stop them or ?machines=keep to leave them running unwatched`,
      { machines: running },
    );
  }
  if (running.length > 0 && decision === 'stop') {
    const outcome = await releases.retireMachines(
      app,
      running.map((machine) => machine.machine_id),
    );
    if (outcome.failed.length > 0) {
      throw new RelguardError(
        FailureType.Unavailable,
        `could not stop ${outcome.failed
          .map((failure) => `${failure.machine_id} (${failure.error})`)
          .join(', ')}; ${app.name} was not deleted${
          outcome.stopped.length > 0 ? ` (stopped: ${outcome.stopped.join(', ')})` : ''
        }`,
        outcome,
      );
    }
  }
  await releases.stopWatchingHealth(app, 'the application was deleted');
  await applications.delete(id);
  if (running.length === 0) {
    logger.info({ app: app.name, id }, 'application deleted');
    return c.body(null, 204);
  }
  const machines = decision === 'stop' ? 'stopped' : 'kept';
  logger.warn({ app: app.name, id, machines, affected: running }, 'application deleted');
  return c.json({ id, name: app.name, machines, affected: running } as const, 200);
};

export const listMachineEvents: RouteHandler<typeof routes.listMachineEvents, ApiEnv> = async (
  c,
) => {
  const { id } = c.req.valid('param');
  const { machine, limit } = c.req.valid('query');
  const items = await c.var.store.machineEvents.list(id, {
    limit,
    ...(machine === undefined ? {} : { machineId: machine }),
  });
  return c.json({ items }, 200);
};

export const getApplicationMetrics: RouteHandler<
  typeof routes.getApplicationMetrics,
  ApiEnv
> = async (c) => {
  const app = await c.var.store.applications.get(c.req.valid('param').id);
  const prometheus = prometheusOf(c.var);
  const { minutes, by } = c.req.valid('query');
  const to = Date.now();
  const from = to - minutes * 60_000;
  const deployments = await c.var.store.deployments.activeBetween(app.id, from, to);
  const metrics = await queryRedMetrics(prometheus, app, {
    from,
    to,
    by,
    deployments,
    markersOf: releaseMarkers,
  });
  return c.json(metrics, 200);
};
