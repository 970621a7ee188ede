import type { InstantResult } from './prometheus';

/**
 * A metric source: where the metric guard measures a release. Prometheus is the one there is
 * (see prometheus.ts); anything that answers PromQL at an instant fits.
 */
export interface MetricSource {
  /**
   * The single value of `promql` at `at` (epoch ms; default now), or undefined when it has no
   * series. NaN and ±Inf come back as numbers. Rejects when the query fails or returns more
   * than one series (the message names the query). Read-only, so safe to retry.
   */
  query(promql: string, at?: number): Promise<number | undefined>;

  /** Every series of `promql` at `at` (epoch ms), with its labels. Rejects when the query fails. */
  instantQuery(promql: string, at?: number): Promise<InstantResult>;
}
