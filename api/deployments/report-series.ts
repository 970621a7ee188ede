import { defaultStepSeconds, PrometheusError } from '../../activities/metrics/prometheus';
import type { AnalysisReport } from '../../domain';
import { chartSeries, type MetricSeries, type RangeQuerySource } from '../prometheus-series';

interface ReportSeriesItem {
  name: string;
  promql: string;
  series: MetricSeries[];
  error?: string;
}

/** A window shorter than this is widened (to the left), so that a chart has a shape. */
const shortestWindowMs = 10 * 60_000;

/**
 * The report's anomalous metrics as range queries from the baseline window's start to the
 * release window's end: what was before the release and what it did, on one chart. A query
 * Prometheus refuses (the LLM wrote bad PromQL, say) is that item's `error`; Prometheus down
 * is Unavailable for the whole answer.
 */
export async function queryReportSeries(prometheus: RangeQuerySource, report: AnalysisReport) {
  const to = report.window.to;
  const from = Math.min(report.window.from, report.baseline_window.from, to - shortestWindowMs);
  const step = defaultStepSeconds(from, to);
  const items = await Promise.all(
    report.anomalous_metrics.map(async ({ name, promql }): Promise<ReportSeriesItem> => {
      try {
        const series = await chartSeries(prometheus, promql, {
          start: from,
          end: to,
          stepSeconds: step,
        });
        return { name, promql, series };
      } catch (error) {
        if (error instanceof PrometheusError) {
          return { name, promql, series: [], error: error.message };
        }
        throw error;
      }
    }),
  );
  return { deployment_id: report.deployment_id, from, to, step_seconds: step, items };
}
