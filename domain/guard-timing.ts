import type { PacerConfig, RollbackPolicy } from './application';

/**
 * How long the metric guard needs before it can judge, derived from how Prometheus sees the
 * machines (the scrape interval) and what the templates ask of it (their rate windows). Pure,
 * so that the api can refuse a policy that can never be judged and the workflows can wait for
 * exactly as long as the data needs.
 */

/** Machines relguard deploys are found by file service discovery, refreshed this often. */
export const targetDiscoverySeconds = 5;

/**
 * From the moment a machine runs the new version until its rate queries can have a value:
 * Prometheus must discover it, then hold two scrapes inside the longest rate window
 * (`rate()` needs two samples). The window itself counts, since a `[1m]` rate of a target seen
 * for 10 s is already a value, but one made of 10 s of data: two scrapes past the window's own
 * length leave the first value whole.
 */
export function dataGraceMs(timing: {
  scrapeIntervalSeconds: number;
  rangeSeconds: number;
}): number {
  const { scrapeIntervalSeconds, rangeSeconds } = timing;
  return (targetDiscoverySeconds + rangeSeconds + 2 * scrapeIntervalSeconds) * 1000;
}

/** The verification window after the last batch, as configured or by default. */
export function verifySeconds(
  policy: Pick<RollbackPolicy, 'verify_seconds' | 'interval_seconds' | 'consecutive_breaches'>,
): number {
  return (
    policy.verify_seconds ?? Math.max(2 * policy.interval_seconds * policy.consecutive_breaches, 60)
  );
}

/** Conclusive evaluations the guard must have made before each promotion. */
export function minJudgedEvaluations(
  policy: Pick<RollbackPolicy, 'min_judged_evaluations' | 'consecutive_breaches'>,
): number {
  return policy.min_judged_evaluations ?? policy.consecutive_breaches;
}

/**
 * The shortest bake (or interval) after which the guard can have judged a batch: the data's
 * grace, then `min_judged_evaluations` evaluations. A shorter bake is not unsafe (promotion
 * waits for the evaluations), it is only longer than it says.
 */
export function shortestJudgedWaitSeconds(
  policy: Pick<
    RollbackPolicy,
    'interval_seconds' | 'consecutive_breaches' | 'min_judged_evaluations'
  >,
  timing: { scrapeIntervalSeconds: number; rangeSeconds: number },
): number {
  return dataGraceMs(timing) / 1000 + minJudgedEvaluations(policy) * policy.interval_seconds;
}

export interface TimingIssue {
  /** Path in the application body, e.g. ['rollback_policy', 'verify_seconds']. */
  path: (string | number)[];
  message: string;
}

/**
 * Combinations of pacer, policy and templates the guard could never judge, each named by the
 * field to change. Only for an enabled guard: a disabled one judges nothing by choice.
 */
export function unjudgeableTiming(
  app: { rollback_policy: RollbackPolicy; pacer: PacerConfig },
  timing: { scrapeIntervalSeconds: number; rangeSeconds: number },
): TimingIssue[] {
  const policy = app.rollback_policy;
  if (!policy.enabled) return [];
  const issues: TimingIssue[] = [];
  const { scrapeIntervalSeconds, rangeSeconds } = timing;
  if (rangeSeconds > 0 && rangeSeconds < 2 * scrapeIntervalSeconds) {
    issues.push({
      path: ['red_metrics_config'],
      message:
        `the longest rate window of the templates is ${rangeSeconds} s, shorter than two scrapes ` +
        `(${2 * scrapeIntervalSeconds} s at the ${scrapeIntervalSeconds} s scrape interval): ` +
        `rate() needs two samples in its window, so the rules could never have a value`,
    });
  }
  const verify = verifySeconds(policy);
  const breachesTake = policy.interval_seconds * policy.consecutive_breaches;
  if (verify < breachesTake) {
    issues.push({
      path: ['rollback_policy', 'verify_seconds'],
      message:
        `a ${verify} s verification window ends before ${policy.consecutive_breaches} ` +
        `consecutive breaches ${policy.interval_seconds} s apart (${breachesTake} s) can roll ` +
        `back a fault of the last batch: make it at least ${breachesTake}`,
    });
  }
  const judged = minJudgedEvaluations(policy);
  if (judged < policy.consecutive_breaches) {
    issues.push({
      path: ['rollback_policy', 'min_judged_evaluations'],
      message:
        `${judged} judged evaluations before a promotion are fewer than the ` +
        `${policy.consecutive_breaches} consecutive breaches a rollback needs: a fault would be ` +
        `promoted before the guard could act on it`,
    });
  }
  return issues;
}
