import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  sleep,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RollbackPolicy } from '../domain/application';
import type { GuardEvidence, PolicyEvaluation } from '../domain/guard';
import { evaluateBreaches } from '../domain/policy';
import { guardBlindSignal, guardPauseSignal, rollbackSignal } from './release/messages';

const { evaluateRelease } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // One evaluation that cannot run is one inconclusive evaluation, not a reason to wait:
  // the next interval tries again.
  retry: { maximumAttempts: 2 },
});

export interface MetricGuardInput {
  deploymentId: string;
  policy: Pick<
    RollbackPolicy,
    'enabled' | 'interval_seconds' | 'consecutive_breaches' | 'no_data' | 'auto_rollback'
  >;
  /** Carried over continue-as-new. */
  consecutive?: number;
  recent?: PolicyEvaluation[];
  /** When the first machine on the new version was evaluated (epoch ms). */
  watchingSince?: number;
  firstBreachAt?: number;
}

/**
 * How long evaluations that cannot be judged are expected after the first machine runs the
 * new version: it must be scraped for a rate window before its queries have data.
 */
const noDataGraceMs = 60_000;
/** Evaluations kept as evidence: enough to show the breaches and what came before them. */
const evidenceKept = 5;
/** Continue-as-new well before the history grows large, whatever the server suggests. */
const evaluationsPerRun = 500;

/**
 * Watches a release's metrics: every `interval_seconds` one evaluation of the rollback policy
 * in Prometheus. After `consecutive_breaches` failing evaluations it tells the release, with
 * the evidence: `rollback` when the policy rolls back by itself, a pause otherwise (a person
 * decides). Evaluations that cannot be judged pause the release when the policy says so.
 * It runs until the release cancels it.
 */
export async function metricGuardWorkflow(input: MetricGuardInput): Promise<void> {
  const parent = workflowInfo().parent;
  if (parent === undefined) throw new Error('the metric guard runs as a child of a release');
  const release = getExternalWorkflowHandle(parent.workflowId, parent.runId);
  let consecutive = input.consecutive ?? 0;
  const recent = [...(input.recent ?? [])];
  /** Told the release about the current stretch of evaluations that cannot be judged. */
  let reportedInconclusive = false;
  let watchingSince = input.watchingSince;
  let firstBreachAt = input.firstBreachAt;

  for (let evaluations = 0; ; evaluations++) {
    await sleep(input.policy.interval_seconds * 1000);
    const evaluation = await evaluateRelease({ deploymentId: input.deploymentId }).catch(
      // The release could not even be read: an evaluation in error, which the policy judges.
      (): PolicyEvaluation => ({
        at: Date.now(),
        app: '',
        version: '',
        baseline_version: '',
        instances: [],
        results: [],
        verdict: 'error',
      }),
    );
    recent.push(evaluation);
    recent.splice(0, Math.max(0, recent.length - evidenceKept));

    const outcome = evaluateBreaches(consecutive, evaluation, input.policy);
    // The first failing evaluation of the current run of breaches.
    if (outcome.consecutive === 0) firstBreachAt = undefined;
    else firstBreachAt ??= evaluation.at;
    consecutive = outcome.consecutive;
    const evidence = (): GuardEvidence => ({
      detected_at: evaluation.at,
      ...(firstBreachAt === undefined ? {} : { first_breach_at: firstBreachAt }),
      consecutive_breaches: consecutive,
      failing: evaluation.results.filter((result) => result.verdict !== 'pass'),
      evaluations: recent,
    });
    const summary = () =>
      evaluation.results
        .filter((result) => result.verdict !== 'pass')
        .map((result) => result.message)
        .join('; ') || 'the evaluation failed';

    if (outcome.breached) {
      if (input.policy.auto_rollback) {
        await release.signal(rollbackSignal, {
          reason: `metric guard: ${summary()}`,
          requested_by: 'metric-guard',
          evidence: evidence(),
        });
      } else {
        await release.signal(guardPauseSignal, {
          reason: `metric guard: ${summary()}`,
          evidence: evidence(),
        });
      }
      return;
    }
    // Once per stretch of evaluations that cannot be judged: pause (a person resumes), or,
    // when the policy ignores missing data but Prometheus itself is out, warn: a guard that
    // cannot see must never pass a release silently. A new version has no data until it has
    // been scraped for a rate window: not before the grace.
    if (evaluation.instances.length > 0) watchingSince ??= evaluation.at;
    const pastGrace = watchingSince !== undefined && evaluation.at - watchingSince >= noDataGraceMs;
    if (outcome.inconclusive && pastGrace && !reportedInconclusive) {
      reportedInconclusive = true;
      const request = {
        reason: `metric guard cannot judge the release: ${summary()}`,
        evidence: evidence(),
      };
      if (input.policy.no_data === 'pause') await release.signal(guardPauseSignal, request);
      else await release.signal(guardBlindSignal, request);
    }
    if (!outcome.inconclusive) reportedInconclusive = false;

    if (evaluations >= evaluationsPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof metricGuardWorkflow>({
        ...input,
        consecutive,
        recent,
        ...(watchingSince === undefined ? {} : { watchingSince }),
        ...(firstBreachAt === undefined ? {} : { firstBreachAt }),
      });
    }
  }
}
