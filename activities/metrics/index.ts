export type { MetricSource } from './types';
export {
  PrometheusClient,
  defaultStepSeconds,
  PrometheusError,
  parseSampleValue,
  prometheusAuth,
  prometheusOptions,
  type PrometheusAuth,
  type PrometheusErrorType,
  type PrometheusOptions,
  type InstantResult,
  type RangeQueryOptions,
  type RangeSeries,
  type Sample,
} from './prometheus';
