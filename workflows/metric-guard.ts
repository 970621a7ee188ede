import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RollbackPolicy } from '../domain/application';
import type { GuardEvidence, PolicyEvaluation } from '../domain/guard';
import { evaluateBreaches } from '../domain/policy';
import { summaries } from './summaries';
import {
  guardBlindSignal,
  guardPauseSignal,
  judgedSignal,
  judgementRequestSignal,
  rollbackSignal,
  type JudgementRequest,
} from './release/messages';

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
  /**
   * How long evaluations that cannot be judged are expected after the first machine runs the
   * new version (see dataGraceMs in domain/guard-timing.ts); unset in runs started before it
   * was derived, which keep the old minute.
   */
  dataGraceMs?: number;
  /** Carried over continue-as-new: the latest conclusive evaluations, and the open request. */
  judged?: JudgedEvaluation[];
  judgementRequest?: JudgementRequest;
  /**
   * What is judged, for the summaries the Temporal UI shows; absent from runs started before
   * it was passed (their evaluations say it once one has run).
   */
  target?: GuardTarget;
}

/** The release the guard judges: its application, its version and the version before it. */
export interface GuardTarget {
  app: string;
  version: string;
  baseline: string;
}

/** An evaluation that counts toward a promotion. */
export interface JudgedEvaluation {
  at: number;
  instances: string[];
  /** Counted although it judged nothing: `no_data: ignore` lets the release go on. */
  blind: boolean;
}

/**
 * How long evaluations that cannot be judged are expected after the first machine runs the
 * new version: it must be scraped for a rate window before its queries have data.
 */
const defaultDataGraceMs = 60_000;
/** Conclusive evaluations kept for judgement requests; more than any sane min_judged_evaluations. */
const judgedKept = 100;
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
  /** Said once in this run that the guard cannot see: one alert of that kind is enough. */
  let saidBlind = false;
  let watchingSince = input.watchingSince;
  let firstBreachAt = input.firstBreachAt;
  const dataGraceMs = input.dataGraceMs ?? defaultDataGraceMs;
  const judged = [...(input.judged ?? [])];
  let judgementRequest = input.judgementRequest;

  /**
   * Tells the release when it may promote: enough conclusive evaluations of its machines once
   * they can have data (the grace after they were deployed), and no breach under way (the last
   * evaluation did not fail). Evaluations that counted without judging anything (`no_data:
   * ignore`) are said out loud.
   */
  const answerJudgement = async (): Promise<void> => {
    const request = judgementRequest;
    if (request === undefined || consecutive > 0) return;
    // A machine has no data of its own until Prometheus has found it and scraped it for a rate
    // window: an evaluation before that measured only the machines deployed before it.
    const judgingFrom = request.since + dataGraceMs;
    const counted = judged.filter(
      (evaluation) =>
        evaluation.at >= judgingFrom &&
        request.machines.every((machine) => evaluation.instances.includes(machine)),
    );
    if (counted.length < request.required) return;
    judgementRequest = undefined;
    const blind = counted.filter((evaluation) => evaluation.blind).length;
    if (blind > 0 && !saidBlind) {
      saidBlind = true;
      const latest = recent[recent.length - 1];
      await release.signal(guardBlindSignal, {
        reason:
          `metric guard: ${blind} of the ${counted.length} evaluations before this promotion ` +
          `(${request.machines.join(', ')}) judged nothing, and the policy's no_data is ignore`,
        evidence: {
          detected_at: latest?.at ?? request.since,
          consecutive_breaches: consecutive,
          failing: latest?.results.filter((result) => result.verdict !== 'pass') ?? [],
          evaluations: recent,
        },
      });
    }
    await release.signal(judgedSignal, { id: request.id, evaluations: counted.length });
  };
  const show = (latest: PolicyEvaluation | undefined) =>
    setCurrentDetails(guardDetails(input, latest, consecutive, judged.length, judgementRequest));
  show(recent[recent.length - 1]);
  setHandler(judgementRequestSignal, async (request) => {
    judgementRequest = request;
    show(recent[recent.length - 1]);
    await answerJudgement();
    show(recent[recent.length - 1]);
  });

  for (let evaluations = 0; ; evaluations++) {
    await sleep(input.policy.interval_seconds * 1000, {
      summary: summaries.nextEvaluation(input.policy.interval_seconds),
    });
    const target = input.target ?? targetOf(recent[recent.length - 1]);
    const judging =
      target === undefined
        ? `judge release ${input.deploymentId}`
        : summaries.judge(target.app, target.version, target.baseline);
    const evaluation = await evaluateRelease
      .executeWithOptions({ summary: judging }, [{ deploymentId: input.deploymentId }])
      .catch(
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
    show(evaluation);
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
    const pastGrace = watchingSince !== undefined && evaluation.at - watchingSince >= dataGraceMs;
    if (outcome.inconclusive && pastGrace && !reportedInconclusive) {
      reportedInconclusive = true;
      const request = {
        reason: `metric guard cannot judge the release: ${summary()}`,
        evidence: evidence(),
      };
      saidBlind = true;
      if (input.policy.no_data === 'pause') await release.signal(guardPauseSignal, request);
      else await release.signal(guardBlindSignal, request);
    }
    if (!outcome.inconclusive) reportedInconclusive = false;

    // What counts toward a promotion: a verdict on the machines; or, past the grace, an
    // evaluation that had no data when the policy ignores that, or when it paused the release
    // for it and a person resumed it (said once when it is used).
    const conclusive = evaluation.verdict === 'pass' || evaluation.verdict === 'fail';
    const blindAllowed =
      input.policy.no_data === 'ignore' ||
      (input.policy.no_data === 'pause' && reportedInconclusive);
    if (evaluation.instances.length > 0 && (conclusive || (pastGrace && blindAllowed))) {
      judged.push({ at: evaluation.at, instances: evaluation.instances, blind: !conclusive });
      judged.splice(0, Math.max(0, judged.length - judgedKept));
      await answerJudgement();
    }

    if (evaluations >= evaluationsPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof metricGuardWorkflow>({
        ...input,
        consecutive,
        recent,
        // Set even when undefined: the input's own value (spread above) must not come back.
        watchingSince,
        firstBreachAt,
        judged,
        judgementRequest,
      });
    }
  }
}

/** The release an evaluation judged, when it could read it. */
function targetOf(evaluation: PolicyEvaluation | undefined): GuardTarget | undefined {
  if (evaluation === undefined || evaluation.app === '' || evaluation.version === '') {
    return undefined;
  }
  return {
    app: evaluation.app,
    version: evaluation.version,
    baseline: evaluation.baseline_version,
  };
}

/** The guard's current details for the Temporal UI, in Temporal markdown. */
function guardDetails(
  input: MetricGuardInput,
  latest: PolicyEvaluation | undefined,
  consecutive: number,
  judged: number,
  request: JudgementRequest | undefined,
): string {
  const { policy } = input;
  if (latest === undefined) {
    return `**waiting for the first evaluation** (every ${policy.interval_seconds} s)`;
  }
  const lines = [
    `**latest evaluation: ${latest.verdict}** at ${new Date(latest.at).toISOString()}`,
    `- failing in a row: ${consecutive} of ${policy.consecutive_breaches} (then ${policy.auto_rollback ? 'rollback' : 'pause'})`,
    `- machines on the new version judged: ${latest.instances.join(', ') || 'none yet'}`,
    ...latest.results
      .filter((result) => result.verdict !== 'pass')
      .map((result) => `- ${result.rule}: ${result.verdict}: ${result.message}`),
    `- conclusive evaluations kept: ${judged}`,
  ];
  if (request !== undefined) {
    lines.push(
      `- the release waits for ${request.required} evaluation(s) of ${request.machines.join(', ')} (${request.id})`,
    );
  }
  return lines.join('\n');
}
