export type { MetricSource } from './types';
export {
  PrometheusClient,
  PrometheusError,
  type PrometheusAuth,
  type PrometheusErrorType,
  type PrometheusOptions,
  type InstantResult,
  type Sample,
} from './prometheus';
