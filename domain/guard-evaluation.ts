import { z } from './zod';
import { RuleResultRecord } from './deployment';

/**
 * One evaluation of a release's rollback policy as it is kept for people (the console charts
 * the rules' values over time): the guard's PolicyEvaluation with the deployment it judged.
 */
export const GuardEvaluationRecord = z.object({
  deployment_id: z.string(),
  /** Epoch ms of the evaluation (the queries' time). */
  at: z.number().int(),
  app: z.string(),
  version: z.string(),
  baseline_version: z.string(),
  /** The machines on the new version that were measured; empty before any runs it. */
  instances: z.array(z.string()),
  /** The worst of the rules' verdicts: the same four. */
  verdict: RuleResultRecord.shape.verdict,
  results: z.array(RuleResultRecord),
});
export type GuardEvaluationRecord = z.infer<typeof GuardEvaluationRecord>;

/** How many evaluations are kept per deployment: at the default 15 s, more than 8 hours. */
export const guardEvaluationsKept = 2000;

/**
 * A rule result without its non-finite numbers: neither JSON nor FerretDB takes ±Inf (a p99 in
 * the +Inf bucket is one), so the value is left out and the message, which names it, stays.
 */
export function withFiniteNumbers<T extends { value?: number; baseline?: number }>(result: T): T {
  const { value, baseline, ...rest } = result;
  return {
    ...rest,
    ...(value !== undefined && Number.isFinite(value) ? { value } : {}),
    ...(baseline !== undefined && Number.isFinite(baseline) ? { baseline } : {}),
  } as T;
}
