import { z } from '@hono/zod-openapi';
import {
  PrometheusError,
  type RangeQueryOptions,
  type RangeSeries,
} from '../activities/metrics/prometheus';
import { FailureType, RelguardError } from '../domain';
import type { ApiVariables } from './context';

/** What the api asks of Prometheus: range queries for the console's charts. */
export interface RangeQuerySource {
  /** Where it sends its queries (origin only), for messages. */
  readonly origin: string;
  rangeQuery(promql: string, options: RangeQueryOptions): Promise<RangeSeries[]>;
}

/**
 * One series of a range query in the shape charts take: its labels, and its samples as two
 * arrays of the same length (epoch ms, value). JSON has no NaN or ±Inf: those are null, a gap.
 */
export const MetricSeries = z
  .object({
    labels: z.record(z.string(), z.string()),
    timestamps: z.array(z.number().int()),
    values: z.array(z.number().nullable()),
  })
  .openapi('MetricSeries');
export type MetricSeries = z.infer<typeof MetricSeries>;

function toMetricSeries(
  range: readonly RangeSeries[],
  extraLabels: Record<string, string> = {},
): MetricSeries[] {
  return range.map(({ metric, samples }) => ({
    labels: { ...extraLabels, ...metric },
    timestamps: samples.map((sample) => sample.timestamp),
    values: samples.map((sample) => (Number.isFinite(sample.value) ? sample.value : null)),
  }));
}

/** The api's Prometheus, or a 503 that says it has none. */
export function prometheusOf(vars: Pick<ApiVariables, 'prometheus'>): RangeQuerySource {
  if (vars.prometheus === undefined) {
    throw new RelguardError(FailureType.Unavailable, 'this api has no Prometheus configured');
  }
  return vars.prometheus;
}

/**
 * Errors that say Prometheus (or the way to it) is down, rather than that a query is wrong:
 * no answer, no answer in time, an answer that is not Prometheus' (a proxy's error page), or
 * Prometheus' own unavailable, timeout and internal errors.
 */
const outageTypes = new Set([
  'network',
  'client_timeout',
  'bad_response',
  'unavailable',
  'timeout',
  'internal',
]);

/**
 * The series of `promql` over `options`, for a chart (labels plus `extraLabels`). Prometheus
 * down is a 503 naming it and why; a query it refuses stays a PrometheusError for the caller.
 */
export async function chartSeries(
  source: RangeQuerySource,
  promql: string,
  options: RangeQueryOptions,
  extraLabels: Record<string, string> = {},
): Promise<MetricSeries[]> {
  try {
    return toMetricSeries(await source.rangeQuery(promql, options), extraLabels);
  } catch (error) {
    if (error instanceof PrometheusError && outageTypes.has(error.errorType)) {
      throw new RelguardError(
        FailureType.Unavailable,
        `Prometheus at ${source.origin} is unavailable: ${error.message}`,
        { error_type: error.errorType },
      );
    }
    throw error;
  }
}
