import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities, ReleasePlan } from '../../activities';
import {
  PacerConfig,
  RollbackPolicy,
  type DeploymentStatus,
  type PolicyEvaluation,
  type RollbackRecord,
  type Verdict,
} from '../../domain';
import { fakeAnalysis } from './fake-analysis';

export interface FleetEvent {
  at: number;
  what: 'deploy' | 'rollback' | 'stop';
  machine: string;
}

export interface FleetOptions {
  machines: number;
  batches: string[][];
  pacer?: Partial<PacerConfig>;
  previousVersion?: string;
  /** Machines whose deploy fails for good. */
  failing?: string[];
  /** Machines whose first deploy attempt fails as a crashed worker's would. */
  flaky?: string[];
  deploySeconds?: number;
  /** Whether a rollback starts the analysis (rollback_policy.ai_analysis); default true. */
  aiAnalysis?: boolean;
  /**
   * Every attempt to send a release alert fails as sendAlert fails: these channels refused it
   * (retryable, as a channel answering 500 does).
   */
  alertsFailOn?: string[];
  /** With a rollback policy, the metric guard runs; `verdict(n)` answers its n-th evaluation. */
  guard?: {
    policy: Partial<RollbackPolicy>;
    /** Also given the machines that run the new version at that evaluation. */
    verdict: (evaluation: number, onNewVersion: readonly string[]) => Verdict;
  };
}

/**
 * An in-memory fleet behind the release activities, for workflow logic on the time-skipping
 * server. `sleep` moves server time (a deploy that takes `deploySeconds`).
 */
export function fleet(options: FleetOptions, sleep: (ms: number) => Promise<void>) {
  const events: FleetEvent[] = [];
  const statuses: DeploymentStatus[] = [];
  const attempts = new Map<string, number>();
  const installed = new Map<string, string>();
  const finished: DeploymentStatus[] = [];
  const alerts: string[] = [];
  const evaluations: PolicyEvaluation[] = [];
  const rollbacks: RollbackRecord[] = [];
  // A rollback starts the analysis as a child; its activities run here too.
  const analysis = fakeAnalysis({ heuristic: 'writes' });
  const machineIds = Array.from({ length: options.machines }, (_, i) => `m${i + 1}`);
  const plan: ReleasePlan = {
    // One id per fleet: workflow ids derived from it never meet an earlier test's.
    deploymentId: `d-${randomUUID()}`,
    appId: 'a1',
    appName: 'shop',
    version: 'v2',
    previousVersion: options.previousVersion ?? 'v1',
    guardDataGraceMs: 60_000,
    pacer: PacerConfig.parse({
      gray_bake_seconds: 300,
      interval_seconds: 60,
      ...options.pacer,
    }),
    rollbackPolicy: RollbackPolicy.parse(
      options.guard?.policy ?? { enabled: false, ai_analysis: options.aiAnalysis ?? true },
    ),
    nodes: options.batches.flatMap((ids, batch) =>
      ids.map((machine_id) => ({ machine_id, batch, status: 'pending' as const })),
    ),
    packageReady: true,
  };
  // Server time at which the workflow asked for the activity: the clock the pacer runs on.
  const now = () => Promise.resolve(Context.current().info.currentAttemptScheduledTimestampMs);
  const activities: Partial<Activities> = {
    ...analysis.activities,
    loadRelease: () => Promise.resolve(plan),
    ensurePackage: () =>
      Promise.resolve({ url: 'http://x/p.tar.gz', md5: 'a'.repeat(32), size: 1, created_at: 1 }),
    recordDeploymentStatus: ({ status }) => {
      statuses.push(status);
      return Promise.resolve();
    },
    deployMachine: async ({ machineId }) => {
      const attempt = (attempts.get(machineId) ?? 0) + 1;
      attempts.set(machineId, attempt);
      if (options.failing?.includes(machineId)) {
        throw ApplicationFailure.nonRetryable(`${machineId} never got healthy`, 'Unavailable');
      }
      if (options.flaky?.includes(machineId) && attempt === 1) {
        throw new Error('worker lost');
      }
      if (options.deploySeconds) await sleep(options.deploySeconds * 1000);
      const changed = installed.get(machineId) !== 'v2';
      if (changed) events.push({ at: await now(), what: 'deploy', machine: machineId });
      installed.set(machineId, 'v2');
      return { machine_id: machineId, version: 'v2', changed };
    },
    rollbackMachine: async ({ machineId }) => {
      events.push({ at: await now(), what: 'rollback', machine: machineId });
      installed.set(machineId, plan.previousVersion);
      return { machine_id: machineId, version: plan.previousVersion, changed: true };
    },
    stopMachine: async ({ machineId }) => {
      events.push({ at: await now(), what: 'stop', machine: machineId });
      installed.delete(machineId);
    },
    evaluateRelease: async () => {
      const onNewVersion = [...installed].filter(([, v]) => v === 'v2').map(([id]) => id);
      const verdict = options.guard?.verdict(evaluations.length + 1, onNewVersion) ?? 'pass';
      const evaluation: PolicyEvaluation = {
        at: await now(),
        app: 'shop',
        version: 'v2',
        baseline_version: 'v1',
        instances: onNewVersion,
        results: [
          {
            rule: 'error rate above 5%',
            metric: 'error_rate',
            promql:
              'sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))',
            ...(verdict === 'fail' ? { value: 0.31 } : verdict === 'pass' ? { value: 0.01 } : {}),
            operator: '>',
            threshold: 0.05,
            verdict,
            message: `error rate: ${verdict}`,
          },
        ],
        verdict,
      };
      evaluations.push(evaluation);
      return evaluation;
    },
    sendReleaseAlert: ({ kind }) => {
      alerts.push(kind);
      const failing = options.alertsFailOn ?? [];
      if (failing.length === 0) return Promise.resolve({ delivered: [] });
      throw ApplicationFailure.create({
        type: 'Unavailable',
        message: `the alert reached 0 of ${failing.length} channels; ${failing.map((name) => `${name}: webhook refused the alert (HTTP 500)`).join('; ')}`,
        details: [
          {
            delivered: [],
            failed: failing.map((channel) => ({
              channel,
              type: 'Unavailable',
              message: 'webhook refused the alert (HTTP 500)',
            })),
          },
        ],
      });
    },
    finishRelease: ({ status, rollback }) => {
      if (rollback) rollbacks.push(rollback);
      // The final status is written here, after the bookkeeping.
      statuses.push(status);
      finished.push(status);
      return Promise.resolve();
    },
  };
  return {
    activities,
    events,
    statuses,
    attempts,
    installed,
    finished,
    alerts,
    evaluations,
    rollbacks,
    /** The analyses a rollback started (what analysisWorkflow was asked). */
    analyses: analysis.requests,
    machineIds,
    plan,
  };
}

export const deployed = (events: FleetEvent[]) =>
  events.filter((event) => event.what === 'deploy').map((event) => event.machine);
