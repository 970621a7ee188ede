import { PrometheusError } from '../../activities/metrics/prometheus';
import { isTerminal, type AnalysisReport, type Deployment } from '../../domain';
import { unpinPromql } from '../../domain/promql-unpin';
import { releaseMarkers, type ReleaseMarker } from '../../domain/release-timeline';
import { chartSeries, type MetricSeries, type RangeQuerySource } from '../prometheus-series';

interface ReportSeriesItem {
  name: string;
  /** The report's query as written: pinned, it gives the reported number. */
  promql: string;
  /** What is charted: `promql` without its `@` modifiers, or as given when it does not parse. */
  chart_promql: string;
  /** The modifiers taken out of `promql` for the chart, as written (`@ 1700000000`). */
  unpinned: string[];
  /** Why `promql` is charted as given (it does not parse as PromQL). */
  unpin_error?: string;
  series: MetricSeries[];
  error?: string;
}

export interface TimeWindow {
  from: number;
  to: number;
}

export interface ReportChartWindows {
  /** Before the release: as long as the report's baseline, and at least `shortestBaselineMs`. */
  baseline_window: TimeWindow;
  /** From the release's start until it ended (the rollback done), plus a margin. */
  release_window: TimeWindow;
  step_seconds: number;
}

/** The baseline drawn before a release is at least this long, so that "before" has a shape. */
export const shortestBaselineMs = 10 * 60_000;
/** After the release ended, this much or a tenth of the release, whichever is longer. */
const shortestMarginMs = 60_000;
/** About this many points over the whole chart... */
const pointsPerChart = 600;
/** ...but at least this many over the release itself, even a short one (down to 1 s steps). */
const pointsPerRelease = 30;
/** Prometheus refuses a range query of more points than this. */
const prometheusMaxPoints = 11_000;

const endKinds = new Set<ReleaseMarker['kind']>([
  'rollback_done',
  'succeeded',
  'failed',
  'cancelled',
]);

/**
 * The windows a report's charts cover: the baseline before the release started, and the
 * release until it ended (its rollback done) plus a margin, never past `now`. The report's
 * own windows are inside them: an analysis an alert started after the release ended reaches
 * to the alert. The step gives each chart about 600 points and a short release at least 30;
 * the baseline starts a whole number of steps before the end, so the last point is the end.
 */
export function reportChartWindows(
  report: Pick<AnalysisReport, 'window' | 'baseline_window'>,
  deployment: Pick<Deployment, 'createdTime' | 'updatedTime' | 'status'>,
  markers: readonly ReleaseMarker[],
  now: number,
): ReportChartWindows {
  const start = markers.find((marker) => marker.kind === 'start')?.at ?? deployment.createdTime;
  const ends = markers.filter((marker) => endKinds.has(marker.kind)).map((marker) => marker.at);
  const ended =
    ends.length > 0
      ? Math.max(...ends)
      : isTerminal(deployment.status)
        ? deployment.updatedTime
        : now;
  const end = Math.max(ended, report.window.to, start);
  const margin = Math.max(shortestMarginMs, Math.round((end - start) / 10));
  const to = Math.max(end, Math.min(end + margin, now));
  const baselineLength = Math.max(
    shortestBaselineMs,
    report.baseline_window.to - report.baseline_window.from,
  );
  const from = Math.min(start - baselineLength, report.baseline_window.from);
  const totalSeconds = (to - from) / 1000;
  // The release itself, without its margin: a version that lived 12 s gets 1 s steps.
  const releaseSeconds = (end - start) / 1000;
  const step = Math.max(
    1,
    Math.ceil(totalSeconds / prometheusMaxPoints),
    Math.min(
      Math.ceil(totalSeconds / pointsPerChart),
      Math.floor(releaseSeconds / pointsPerRelease),
    ),
  );
  // Whole steps back from the end: the last point is the freshest one, at `to` itself.
  const stepMs = step * 1000;
  const aligned = to - Math.ceil((to - from) / stepMs) * stepMs;
  return {
    baseline_window: { from: aligned, to: start },
    release_window: { from: start, to },
    step_seconds: step,
  };
}

/**
 * The report's anomalous metrics as range queries over the baseline and release windows, with
 * the release's markers (start, gray deployed, breach, rollback...): what was before the
 * release and when it went bad, on one chart. The report's PromQL pins its evaluation time
 * (`@`), which would draw one flat value, so each is charted without its pins; the pinned
 * query stays beside it. A query Prometheus refuses (the LLM wrote bad PromQL, say) is that
 * item's `error`; Prometheus down is Unavailable for the whole answer.
 */
export async function queryReportSeries(
  prometheus: RangeQuerySource,
  report: AnalysisReport,
  deployment: Deployment,
  now = Date.now(),
) {
  const markers = releaseMarkers(deployment);
  const windows = reportChartWindows(report, deployment, markers, now);
  const from = windows.baseline_window.from;
  const to = windows.release_window.to;
  const step = windows.step_seconds;
  const items = await Promise.all(
    report.anomalous_metrics.map(async ({ name, promql }): Promise<ReportSeriesItem> => {
      const unpinned = unpinPromql(promql);
      const described = {
        name,
        promql,
        chart_promql: unpinned.promql,
        unpinned: unpinned.removed,
        ...(unpinned.error === undefined ? {} : { unpin_error: unpinned.error }),
      };
      try {
        const series = await chartSeries(prometheus, unpinned.promql, {
          start: from,
          end: to,
          stepSeconds: step,
        });
        return { ...described, series };
      } catch (error) {
        if (error instanceof PrometheusError) {
          return { ...described, series: [], error: error.message };
        }
        throw error;
      }
    }),
  );
  return {
    deployment_id: report.deployment_id,
    from,
    to,
    ...windows,
    markers,
    items,
  };
}
