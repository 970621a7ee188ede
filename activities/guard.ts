import type {
  Application,
  Deployment,
  DeploymentPlatform as PlatformKind,
  NodeDeploymentStatus,
  PolicyEvaluation,
  REDMetrics,
  RollbackRule,
  RuleResult,
} from '../domain';
import { machinesWith } from '../domain/deployment';
import { errorMessage } from '../domain/errors';
import { targetDownRule } from '../domain/guard';
import { dataGraceMs } from '../domain/guard-timing';
import {
  judge,
  metricTemplate,
  ruleQueries,
  worstVerdict,
  type Measurement,
  type RuleContext,
  promqlString,
  regexLiteral,
} from '../domain/policy';
import { judgeTargets, type TargetObservation } from '../domain/target-health';
import type { Repositories } from './db';
import { asActivity } from './failures';
import type { Logger } from './logger';
import type { MetricSource } from './metrics/types';
import type { DeployPlatform } from './platform/types';

export interface GuardDeps {
  store: Pick<Repositories, 'deployments' | 'applications' | 'guardEvaluations'>;
  metrics: MetricSource;
  /** Where the new version's machines are asked for their health check. */
  platforms: Record<PlatformKind, DeployPlatform>;
  /** Prometheus' scrape interval for the machines: how soon a new one can be scraped. */
  scrapeIntervalSeconds: number;
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

/** How far back a machine's last successful scrape is looked for. */
const lastScrapeLookback = '1h';

/** The instant vector's values by machine id (the `instance` label), for one `version` or any. */
function byInstance(
  samples: readonly { metric: Record<string, string>; value: number }[],
  version?: string,
): Map<string, number> {
  const values = new Map<string, number>();
  for (const sample of samples) {
    const instance = sample.metric.instance;
    if (instance === undefined) continue;
    if (version !== undefined && sample.metric.version !== version) continue;
    values.set(instance, Math.max(values.get(instance) ?? -Infinity, sample.value));
  }
  return values;
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
  // A machine is found by file service discovery, then scraped: before that it has no series.
  const discoveryGraceMs = dataGraceMs({
    scrapeIntervalSeconds: deps.scrapeIntervalSeconds,
    rangeSeconds: 0,
  });

  /**
   * `target_down` for the machines that finished deploying the new version: their target's
   * `up` (with the new version's label), their last successful scrape when they are down, and
   * one health check each through the platform. A query that fails makes the rule `error`.
   */
  async function judgeNewVersionTargets(
    app: Application,
    deployment: Deployment,
    at: number,
  ): Promise<RuleResult | undefined> {
    const deployed = deployment.node_deployments.filter((node) => node.status === 'deployed');
    if (deployed.length === 0) return undefined;
    const version = deployment.package_version;
    const everyMachine = deployment.node_deployments.map((node) => regexLiteral(node.machine_id));
    const selector = `app="${promqlString(app.name)}",instance=~"${promqlString(everyMachine.join('|'))}"`;
    const upPromql = `up{${selector}}`;
    // What the rule shows (and the analysis pins to its window): how many of the new version's
    // machines Prometheus cannot scrape. The health checks are relguard's own, not in it.
    const downPromql = `count(up{${selector},version="${promqlString(version)}"} == 0) or vector(0)`;
    const platform = deps.platforms[app.deployment_platform];
    const healthOf = async (machineId: string): Promise<TargetObservation['health']> => {
      const machine = app.machines.find((candidate) => candidate.id === machineId);
      if (machine === undefined) return { healthy: false, error: 'no longer in the application' };
      const answer = await platform.health({ app, machine });
      return answer.error === undefined
        ? { healthy: answer.healthy }
        : { healthy: answer.healthy, error: answer.error };
    };
    try {
      const [up, health] = await Promise.all([
        metrics.instantQuery(upPromql, at),
        Promise.all(deployed.map((node) => healthOf(node.machine_id))),
      ]);
      const samples = up.resultType === 'vector' ? up.samples : [];
      const newVersionUp = byInstance(samples, version);
      const deployedIds = new Set(deployed.map((node) => node.machine_id));
      const otherMachineUp = [...byInstance(samples)].some(
        ([instance, value]) => value === 1 && !deployedIds.has(instance),
      );
      const down = deployed.filter((node) => newVersionUp.get(node.machine_id) === 0);
      let lastUp = new Map<string, number>();
      if (down.length > 0) {
        // The last successful scrape of each machine that is down, whatever version it ran.
        const lastUpPromql =
          `max by (instance) (max_over_time(timestamp(up{${selector}} == 1)` +
          `[${lastScrapeLookback}:]))`;
        const answer = await naming('last scrape query', metrics.instantQuery(lastUpPromql, at));
        lastUp = byInstance(answer.resultType === 'vector' ? answer.samples : []);
      }
      const observations = deployed.map((node, index): TargetObservation => {
        const machineUp = newVersionUp.get(node.machine_id);
        const lastUpSeconds = lastUp.get(node.machine_id);
        return {
          machineId: node.machine_id,
          ...(machineUp === undefined ? {} : { up: machineUp }),
          ...(lastUpSeconds === undefined ? {} : { lastUpAt: lastUpSeconds * 1000 }),
          ...(node.finished_at === undefined ? {} : { deployedAt: node.finished_at }),
          health: health[index]!,
        };
      });
      return judgeTargets(observations, {
        version,
        at,
        graceMs: discoveryGraceMs,
        otherMachineUp,
        promql: downPromql,
      });
    } catch (error) {
      return {
        rule: targetDownRule,
        metric: 'target',
        promql: downPromql,
        operator: '>',
        threshold: 0,
        verdict: 'error',
        message: `${targetDownRule}: error: ${errorMessage(error)}`,
      };
    }
  }

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
     * Evaluates the release's rollback policy once, every rule at one instant, and the guard's
     * own rule `target_down` (see judgeNewVersionTargets) once a machine runs the new version. A query that
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

        const [ruleResults, targets] = await Promise.all([
          Promise.all(app.rollback_policy.rules.map(evaluateRule)),
          judgeNewVersionTargets(app, deployment, at),
        ]);
        const results = targets === undefined ? ruleResults : [targets, ...ruleResults];
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
