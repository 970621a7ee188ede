import { mapConcurrently } from '../../activities/concurrency';
import { defaultStepSeconds, PrometheusError } from '../../activities/metrics/prometheus';
import {
  FailureType,
  isTerminal,
  renderTemplate,
  RelguardError,
  type Application,
  type Deployment,
  type REDMetrics,
} from '../../domain';
import { chartSeries, type MetricSeries, type RangeQuerySource } from '../prometheus-series';
import { fillErrorZeros } from './zero-fill';

const redMetrics = [
  { metric: 'rate', unit: 'req/s', template: (red: REDMetrics) => red.rate },
  { metric: 'errors', unit: 'req/s', template: (red: REDMetrics) => red.errors },
  { metric: 'latency', unit: 's', template: (red: REDMetrics) => red.duration },
] as const;

type RedMetricName = (typeof redMetrics)[number]['metric'];

/** At most this many versions are charted, the newest first (see servedVersions). */
export const maxVersions = 8;
/** At most this many (version, machine) series per metric in the per-machine view. */
export const maxMachineSeries = 48;
/** Range queries in flight at once for one request. */
const queryConcurrency = 8;

/** The deployments' versions in the order they are charted, and those left out. */
export interface ServedVersions {
  versions: string[];
  left_out: string[];
}

/**
 * Every version that served in the window, most recent first: what the machines run now (two
 * versions in the middle of a release) and the application's current version, then each
 * deployment of the window (newest first) with its version and the one it replaced, so a
 * rolled-back version keeps its series after the machines went back. At most `max`; the rest
 * are `left_out`, said in the response. A version the templates find no samples of has no
 * series: listing one that did not serve costs a query, not a line.
 */
export function servedVersions(
  app: { machines: readonly { version: string }[]; currentVersion: string },
  deployments: readonly Pick<Deployment, 'package_version' | 'previous_version'>[],
  max = maxVersions,
): ServedVersions {
  const all = [
    ...new Set(
      [
        ...app.machines.map((machine) => machine.version),
        app.currentVersion,
        ...deployments.flatMap((deployment) => [
          deployment.package_version,
          deployment.previous_version,
        ]),
      ].filter((version) => version !== ''),
    ),
  ];
  return { versions: all.slice(0, max), left_out: all.slice(max) };
}

/** After a release ended, its version's traffic is drawn this much longer (the rollback's tail). */
const servedMarginMs = 60_000;

/**
 * When each version served within the window, to query it over that span with a step fine
 * enough for it. A version on the machines now, the application's current one, or one a
 * release replaced served all along: the whole window. A version that served only as a
 * release's new version (rolled back, cancelled, failed) served from that release's start to
 * its end (plus a margin), which can be seconds: queried at the window's step (15 s for an
 * hour), a rate over a short range would fall between the steps and the bad version, the one
 * the chart is for, would have no line at all. Such a version is asked for over its life at
 * a step fine for it, besides the window (see mergeSeries).
 */
export function servedSpans(
  app: { machines: readonly { version: string }[]; currentVersion: string },
  versions: readonly string[],
  deployments: readonly Pick<
    Deployment,
    'package_version' | 'previous_version' | 'createdTime' | 'updatedTime' | 'status'
  >[],
  window: { from: number; to: number },
): Map<string, { from: number; to: number }> {
  const allAlong = new Set([
    ...app.machines.map((machine) => machine.version),
    app.currentVersion,
    ...deployments.map((deployment) => deployment.previous_version),
  ]);
  const spans = new Map<string, { from: number; to: number }>();
  for (const version of versions) {
    const own = deployments.filter((deployment) => deployment.package_version === version);
    if (allAlong.has(version) || own.length === 0) {
      spans.set(version, window);
      continue;
    }
    const from = Math.min(...own.map((deployment) => deployment.createdTime));
    const to = Math.max(
      ...own.map((deployment) =>
        isTerminal(deployment.status) ? deployment.updatedTime + servedMarginMs : window.to,
      ),
    );
    spans.set(version, { from: Math.max(window.from, from), to: Math.min(window.to, to) });
  }
  return spans;
}

/**
 * Series of one query asked over several ranges, one per label set, their samples merged in
 * time order (a time both have keeps the first answer's value).
 */
export function mergeSeries(series: readonly MetricSeries[]): MetricSeries[] {
  const byLabels = new Map<string, Map<number, number | null>>();
  const labelsOf = new Map<string, Record<string, string>>();
  for (const one of series) {
    const key = JSON.stringify(Object.entries(one.labels).sort(([a], [b]) => a.localeCompare(b)));
    labelsOf.set(key, one.labels);
    const samples = byLabels.get(key) ?? new Map<number, number | null>();
    one.timestamps.forEach((time, index) => {
      if (!samples.has(time)) samples.set(time, one.values[index] ?? null);
    });
    byLabels.set(key, samples);
  }
  return [...byLabels].map(([key, samples]) => {
    const times = [...samples.keys()].sort((a, b) => a - b);
    return {
      labels: labelsOf.get(key) ?? {},
      timestamps: times,
      values: times.map((time) => samples.get(time) ?? null),
    };
  });
}

/** A release event of the window, as the charts mark it (see domain/release-timeline.ts). */
export interface ChartMarkerSource {
  kind: string;
  at: number;
  label: string;
  batch?: number;
}

export interface ReleaseChartEvent extends ChartMarkerSource {
  deployment_id: string;
  /** The version the deployment released. */
  version: string;
  /** The console's page of the release. */
  href: string;
}

/** The events of `deployments` within [from, to], oldest first, each linking to its release. */
export function releaseEvents(
  deployments: readonly Deployment[],
  window: { from: number; to: number },
  markersOf: (deployment: Deployment) => readonly ChartMarkerSource[],
): ReleaseChartEvent[] {
  return deployments
    .flatMap((deployment) =>
      markersOf(deployment).map((marker) => ({
        at: marker.at,
        kind: marker.kind,
        label: marker.label,
        ...(marker.batch === undefined ? {} : { batch: marker.batch }),
        deployment_id: deployment.id,
        version: deployment.package_version,
        href: `/releases/${encodeURIComponent(deployment.id)}`,
      })),
    )
    .filter((event) => event.at >= window.from && event.at <= window.to)
    .sort((a, b) => a.at - b.at);
}

/** One range query: a template rendered for a version, or for one machine of it. */
interface Query {
  version: string;
  machine?: string;
  promql: string;
}

interface Answer extends Query {
  series: MetricSeries[];
}

export interface RedMetricsRequest {
  from: number;
  to: number;
  /** One series per version (default), or per version and machine. */
  by?: 'version' | 'machine';
  /** The application's deployments whose life overlaps the window, newest first. */
  deployments?: readonly Deployment[];
  markersOf?: (deployment: Deployment) => readonly ChartMarkerSource[];
}

/**
 * The application's RED metrics from `from` to `to` (epoch ms): for each metric its template
 * rendered per version that served in the window (servedVersions) with the application's
 * machines as `{{instances}}` (per machine: that one machine), run as range queries. Errors
 * are 0 where the version had traffic and no 5xx (fillErrorZeros). The window's release
 * events come with it, for the charts' markers. A template that cannot be rendered, or that
 * Prometheus refuses, is BadConfig (422); Prometheus down is Unavailable (503).
 */
export async function queryRedMetrics(
  prometheus: RangeQuerySource,
  app: Application,
  request: RedMetricsRequest,
) {
  const { from, to, by = 'version', deployments = [], markersOf = () => [] } = request;
  const step = defaultStepSeconds(from, to);
  const served =
    app.machines.length === 0 ? { versions: [], left_out: [] } : servedVersions(app, deployments);
  const spans = servedSpans(app, served.versions, deployments, { from, to });
  const instances = app.machines.map((machine) => machine.id);
  const notes: string[] = [];
  if (served.left_out.length > 0) {
    notes.push(
      `${served.left_out.length} older version(s) served in the window but are not charted (at most ${maxVersions}): ${served.left_out.join(', ')}`,
    );
  }

  const queriesOf = (metric: RedMetricName, template: string): Query[] => {
    const render = (version: string, machines: readonly string[]) =>
      renderTemplate(template, { app: app.name, version, instances: machines });
    if (by === 'version' || !template.includes('{{instances}}')) {
      if (by === 'machine') {
        notes.push(
          `the ${metric} template has no {{instances}}: it cannot select one machine, so it is charted per version`,
        );
      }
      return served.versions.map((version) => ({ version, promql: render(version, instances) }));
    }
    const pairs = served.versions.flatMap((version) =>
      instances.map((machine) => ({ version, machine })),
    );
    if (pairs.length > maxMachineSeries) {
      notes.push(
        `the ${metric} chart per machine shows the first ${maxMachineSeries} of ${pairs.length} (version, machine) pairs`,
      );
    }
    return pairs
      .slice(0, maxMachineSeries)
      .map(({ version, machine }) => ({ version, machine, promql: render(version, [machine]) }));
  };

  const run = async (metric: RedMetricName, query: Query): Promise<Answer> => {
    const labels: Record<string, string> = {
      version: query.version,
      ...(query.machine === undefined ? {} : { machine: query.machine }),
    };
    const span = spans.get(query.version) ?? { from, to };
    const ranges = [{ start: from, end: to, stepSeconds: step }];
    // A short life is also asked for at its own step; the window's answer stays beside it, so
    // that samples outside the recorded life (a machine that answered as the version after its
    // rollback, a clock that drifted) are still drawn.
    if (span.from !== from || span.to !== to) {
      ranges.push({
        start: span.from,
        end: span.to,
        stepSeconds: defaultStepSeconds(span.from, span.to),
      });
    }
    try {
      const answers = await Promise.all(
        ranges.map((range) => chartSeries(prometheus, query.promql, range, labels)),
      );
      return { ...query, series: mergeSeries(answers.flat()) };
    } catch (error) {
      if (error instanceof PrometheusError) {
        throw new RelguardError(
          FailureType.BadConfig,
          `Prometheus refused the ${metric} query of ${app.name} (red_metrics_config): ${error.message}`,
          { promql: query.promql },
        );
      }
      throw error;
    }
  };

  const planned = redMetrics.map(({ metric, unit, template }) => ({
    metric,
    unit,
    queries: queriesOf(metric, template(app.red_metrics_config)),
  }));
  const jobs = planned.flatMap(({ metric, queries }) =>
    queries.map((query) => ({ metric, query })),
  );
  const answers = await mapConcurrently(jobs, queryConcurrency, ({ metric, query }) =>
    run(metric, query),
  );
  const answersOf = (metric: RedMetricName) =>
    answers.filter((_answer, index) => jobs[index]?.metric === metric);

  const rateAnswers = answersOf('rate');
  const metrics = planned.map(({ metric, unit, queries }) => {
    const mine = answersOf(metric);
    const series =
      metric === 'errors'
        ? mine.flatMap((answer) =>
            fillErrorZeros(
              // The traffic of the same version (and machine, when both are per machine).
              rateAnswers
                .filter(
                  (rate) =>
                    rate.version === answer.version &&
                    (answer.machine === undefined ||
                      rate.machine === undefined ||
                      rate.machine === answer.machine),
                )
                .flatMap((rate) => rate.series),
              answer.series,
              {
                version: answer.version,
                ...(answer.machine === undefined ? {} : { machine: answer.machine }),
              },
            ),
          )
        : mine.flatMap((answer) => answer.series);
    return { metric, unit, queries, series };
  });

  return {
    app_id: app.id,
    from,
    to,
    step_seconds: step,
    by,
    versions: served.versions,
    versions_left_out: served.left_out,
    notes: [...new Set(notes)],
    metrics,
    events: releaseEvents(deployments, { from, to }, markersOf),
  };
}
