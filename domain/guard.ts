import type { ComparisonOperator, RuleMetric } from './application';

/**
 * What the metric guard finds. Verdicts follow Argo Rollouts' analysis phases, worst first:
 * a rule `fail`s, or cannot be judged (`error`: the query failed; `no_data`: no series, or
 * too little traffic to judge), or `pass`es.
 */
export type Verdict = 'pass' | 'fail' | 'no_data' | 'error';

/**
 * What a rule result measured: a rule's metric, or `target` for the guard's own rule
 * `target_down` (are the new version's machines answering scrapes and health checks).
 */
export type GuardMetric = RuleMetric | 'target';

/** The guard's own rule, judged on every evaluation whatever the policy's rules are. */
export const targetDownRule = 'target_down';

export const verdictsWorstFirst: readonly Verdict[] = ['fail', 'error', 'no_data', 'pass'];

/** One rule judged once: the numbers and the query behind them, ready to paste into Prometheus. */
export interface RuleResult {
  rule: string;
  metric: GuardMetric;
  /** The query that measured the new version. */
  promql: string;
  /** The query that measured the old version, for a rule relative to the baseline. */
  baseline_promql?: string;
  value?: number;
  baseline?: number;
  operator: ComparisonOperator;
  /** The threshold as configured; for a relative rule, a ratio to the baseline. */
  threshold: number;
  verdict: Verdict;
  /** The verdict in words, naming the rule and the numbers: "error rate 0.31 > 0.05". */
  message: string;
}

/** One evaluation of a release's rollback policy. */
export interface PolicyEvaluation {
  /** Epoch ms of the evaluation (the queries' time). */
  at: number;
  app: string;
  version: string;
  baseline_version: string;
  /** The instances on the new version that were measured. */
  instances: string[];
  results: RuleResult[];
  /** The worst verdict of the rules. */
  verdict: Verdict;
}

/** Why the guard acted: what a rollback signal, an alert and the Deployment carry. */
export interface GuardEvidence {
  detected_at: number;
  /** When the first of the consecutive failing evaluations ran (epoch ms). */
  first_breach_at?: number;
  consecutive_breaches: number;
  /** The rules that failed (or could not be judged) in the last evaluation. */
  failing: RuleResult[];
  /** The last evaluations, oldest first. */
  evaluations: PolicyEvaluation[];
}
