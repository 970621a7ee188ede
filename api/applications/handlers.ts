import type { RouteHandler } from '@hono/zod-openapi';
import { ZodError } from 'zod';
import { conflict, type PacerConfig, type REDMetrics, type RollbackPolicy } from '../../domain';
import { unjudgeableTiming } from '../../domain/guard-timing';
import { maxRangeSeconds, redTemplateIssues } from '../../domain/promql-templates';
import type { ApiEnv } from '../context';
import { validationBody, type ErrorEnvelope } from '../errors';
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

export const createApplication: RouteHandler<typeof routes.createApplication, ApiEnv> = async (
  c,
) => {
  const input = c.req.valid('json');
  const refusal = guardRefusal(input, c.var.scrapeIntervalSeconds);
  if (refusal !== undefined) return c.json(refusal, 422);
  const app = await c.var.store.applications.create(input);
  c.var.logger.info({ app: app.name, id: app.id }, 'application created');
  return c.json(app, 201);
};

export const listApplications: RouteHandler<typeof routes.listApplications, ApiEnv> = async (c) =>
  c.json({ items: await c.var.store.applications.list() }, 200);

export const getApplication: RouteHandler<typeof routes.getApplication, ApiEnv> = async (c) =>
  c.json(await c.var.store.applications.get(c.req.valid('param').id), 200);

export const updateApplication: RouteHandler<typeof routes.updateApplication, ApiEnv> = async (
  c,
) => {
  const { id } = c.req.valid('param');
  const update = c.req.valid('json');
  const { applications } = c.var.store;
  // The templates and the rules are checked together as they will be stored: a change of the
  // rules alone is checked against the stored templates, and the other way round. updateFrom
  // writes only if nobody changed the application since this read.
  const current = await applications.get(id);
  const refusal = guardRefusal(
    {
      red_metrics_config: update.red_metrics_config ?? current.red_metrics_config,
      rollback_policy: update.rollback_policy ?? current.rollback_policy,
      pacer: update.pacer ?? current.pacer,
    },
    c.var.scrapeIntervalSeconds,
  );
  if (refusal !== undefined) return c.json(refusal, 422);
  const app = await applications.updateFrom(current, update);
  c.var.logger.info({ app: app.name, id }, 'application updated');
  return c.json(app, 200);
};

export const deleteApplication: RouteHandler<typeof routes.deleteApplication, ApiEnv> = async (
  c,
) => {
  const { id } = c.req.valid('param');
  const { applications, deployments } = c.var.store;
  const app = await applications.get(id);
  const active = await deployments.findActive(id);
  if (active !== undefined) {
    throw conflict(`${app.name} has a release in progress (${active.id}); end it first`, {
      deployment_id: active.id,
    });
  }
  await applications.delete(id);
  c.var.logger.info({ app: app.name, id }, 'application deleted');
  return c.body(null, 204);
};

export const getApplicationMetrics: RouteHandler<
  typeof routes.getApplicationMetrics,
  ApiEnv
> = async (c) => {
  const app = await c.var.store.applications.get(c.req.valid('param').id);
  const prometheus = prometheusOf(c.var);
  const to = Date.now();
  const from = to - c.req.valid('query').minutes * 60_000;
  return c.json(await queryRedMetrics(prometheus, app, { from, to }), 200);
};
