import type {
  NodeDeploymentStatus,
  PolicyEvaluation,
  REDMetrics,
  RollbackRule,
  RuleResult,
} from '../domain';
import { machinesWith } from '../domain/deployment';
import { errorMessage } from '../domain/errors';
import {
  judge,
  metricTemplate,
  ruleQueries,
  worstVerdict,
  type Measurement,
  type RuleContext,
} from '../domain/policy';
import type { Repositories } from './db';
import { asActivity } from './failures';
import type { Logger } from './logger';
import type { MetricSource } from './metrics/types';

export interface GuardDeps {
  store: Pick<Repositories, 'deployments' | 'applications' | 'guardEvaluations'>;
  metrics: MetricSource;
  logger: Logger;
  /** Epoch ms; the instant every query of one evaluation is evaluated at. */
  now?: () => number;
}

/** Machines that serve (or are about to serve) the new version. */
const onNewVersion: readonly NodeDeploymentStatus[] = ['deploying', 'deployed'];
/**
 * Machines still on the previous version. A `failed` or `rolling_back` machine may be on
 * either version, or on none, so it is in neither group.
 */
const onPreviousVersion: readonly NodeDeploymentStatus[] = ['pending', 'skipped', 'rolled_back'];

/** The rule's query as configured, for a result whose query could not even be rendered. */
function unrenderedQuery(rule: RollbackRule, red: REDMetrics): string {
  try {
    return metricTemplate(rule, red);
  } catch {
    return rule.promql ?? '';
  }
}

/** Rejects with `what` in front of the reason, so a message says which query failed. */
function naming<T>(what: string, promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    throw new Error(`${what}: ${errorMessage(error)}`, { cause: error });
  });
}

export function createGuardActivities(deps: GuardDeps) {
  const { store, metrics, logger } = deps;
  const now = deps.now ?? Date.now;

  /**
   * Keeps the evaluation for the console's charts. The verdict matters more than its record:
   * a write that fails is logged and the evaluation still goes back to the guard.
   */
  async function record(deploymentId: string, evaluation: PolicyEvaluation): Promise<void> {
    try {
      await store.guardEvaluations.record({ deployment_id: deploymentId, ...evaluation });
    } catch (error) {
      logger.warn(
        { err: error, deployment: deploymentId, at: evaluation.at },
        'guard evaluation not recorded',
      );
    }
  }

  return {
    /**
     * Evaluates the release's rollback policy once, every rule at one instant. A query that
     * fails is an `error` verdict, not an exception: only a deployment or application that
     * cannot be read makes it throw. Safe to retry (its one write is idempotent, see below).
     *
     * Before any machine runs the new version there is nothing to measure: the evaluation has
     * no results and passes, with an empty `instances` to say why (no_data would pause a
     * release under the default policy before its gray machine is even up).
     *
     * Each evaluation is also recorded in `guard_evaluations`, keyed by deployment and instant:
     * the same evaluation written twice is one record; a retry measures again, at an instant of
     * its own, and is a record of its own (it is a measurement too).
     */
    async evaluateRelease(request: { deploymentId: string }): Promise<PolicyEvaluation> {
      return asActivity(async (): Promise<PolicyEvaluation> => {
        const deployment = await store.deployments.get(request.deploymentId);
        const app = await store.applications.get(deployment.app_id);
        const at = now();
        const instances = machinesWith(deployment, onNewVersion);
        const evaluation = {
          at,
          app: app.name,
          version: deployment.package_version,
          baseline_version: deployment.previous_version,
          instances,
        };
        if (instances.length === 0) {
          const nothingToMeasure: PolicyEvaluation = {
            ...evaluation,
            results: [],
            verdict: 'pass',
          };
          await record(deployment.id, nothingToMeasure);
          return nothingToMeasure;
        }

        const ctx: RuleContext = {
          app: app.name,
          version: deployment.package_version,
          instances,
          ...(deployment.previous_version === ''
            ? {}
            : {
                baseline: {
                  version: deployment.previous_version,
                  instances: machinesWith(deployment, onPreviousVersion),
                },
              }),
        };

        // Rules share queries (every rule's traffic query is the same): each runs once.
        const pending = new Map<string, Promise<number | undefined>>();
        const measure = (promql: string): Promise<number | undefined> => {
          let value = pending.get(promql);
          if (value === undefined) {
            value = metrics.query(promql, at);
            pending.set(promql, value);
          }
          return value;
        };

        const red = app.red_metrics_config;
        const evaluateRule = async (rule: RollbackRule): Promise<RuleResult> => {
          let queries;
          try {
            queries = ruleQueries(rule, red, ctx);
          } catch (error) {
            // A template that cannot be rendered is a broken rule, judged like a failing query.
            const promql = unrenderedQuery(rule, red);
            return judge(rule, { error: errorMessage(error) }, { promql, trafficPromql: '' });
          }
          try {
            const [value, baseline, traffic] = await Promise.all([
              measure(queries.promql),
              queries.baselinePromql === undefined
                ? undefined
                : naming('baseline query', measure(queries.baselinePromql)),
              rule.min_request_rate === undefined
                ? undefined
                : naming('traffic query', measure(queries.trafficPromql)),
            ]);
            const measurement: Measurement = {
              ...(value === undefined ? {} : { value }),
              ...(baseline === undefined ? {} : { baseline }),
              ...(traffic === undefined ? {} : { traffic }),
            };
            return judge(rule, measurement, queries);
          } catch (error) {
            return judge(rule, { error: errorMessage(error) }, queries);
          }
        };

        const results = await Promise.all(app.rollback_policy.rules.map(evaluateRule));
        const verdict = worstVerdict(results);
        const failing = results.filter((result) => result.verdict !== 'pass');
        logger[verdict === 'pass' ? 'debug' : 'info'](
          {
            app: app.name,
            deployment: deployment.id,
            version: deployment.package_version,
            verdict,
            failing: failing.map((result) => result.message),
          },
          'policy evaluated',
        );
        const judged: PolicyEvaluation = { ...evaluation, results, verdict };
        await record(deployment.id, judged);
        return judged;
      });
    },
  };
}

export type GuardActivities = ReturnType<typeof createGuardActivities>;
