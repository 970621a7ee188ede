import { useState } from 'preact/hooks';
import { api, body } from '../api';
import { Chart, type ChartLine, type ChartMarker } from '../components/chart';
import { ErrorBox } from '../components/error-box';
import { useResource } from '../resource';
import { consoleUrl, navigate } from '../router';
import type { ApplicationMetrics, MetricSeries, RedMetric } from '../types';

const titles: Record<RedMetric['metric'], string> = {
  rate: 'Requests per second',
  errors: 'Errors (5xx) per second',
  latency: 'p99 latency',
};

const palette = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#be185d',
  '#854d0e',
  '#4b5563',
  '#65a30d',
];

/** What a series is drawn for: its version, and its machine in the per-machine view. */
const keyOf = (series: MetricSeries): string =>
  [series.labels.version ?? 'value', series.labels.machine].filter(Boolean).join(' ');

function seriesLabel(series: MetricSeries): string {
  const { version: _version, machine: _machine, ...rest } = series.labels;
  const others = Object.entries(rest).map(([name, value]) => `${name}=${value}`);
  return [keyOf(series), ...others].join(' ');
}

/**
 * One line per series; a version (or version and machine) has the same colour in every chart,
 * so the rolled-back version's errors and traffic read as one.
 */
function lines(metric: RedMetric, colours: Map<string, string>): ChartLine[] {
  return metric.series.map((series) => ({
    label: seriesLabel(series),
    timestamps: series.timestamps,
    values: series.values,
    color: colours.get(keyOf(series)),
  }));
}

function coloursOf(data: ApplicationMetrics | undefined): Map<string, string> {
  const keys = [...new Set(data?.metrics.flatMap((metric) => metric.series.map(keyOf)) ?? [])].sort(
    (a, b) => {
      const version = (key: string) => data?.versions.indexOf(key.split(' ')[0] ?? '') ?? -1;
      return version(a) - version(b) || a.localeCompare(b);
    },
  );
  return new Map(keys.map((key, index) => [key, palette[index % palette.length] ?? '#2563eb']));
}

/** A marker's label, short (the chart is crowded when events are close); the event says all. */
const shortLabels: Record<string, string> = {
  start: 'start',
  gray_deployed: 'gray',
  breach: 'breach',
  rollback_begun: 'rollback',
  rollback_done: 'rolled back',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

const markersOf = (data: ApplicationMetrics | undefined): ChartMarker[] =>
  (data?.events ?? []).map((event) => ({
    at: event.at,
    kind: event.kind,
    label: `${event.version} ${
      event.kind === 'batch'
        ? `batch ${event.batch ?? ''}`.trim()
        : (shortLabels[event.kind] ?? event.kind)
    }`,
    detail: `${event.version}: ${event.label}`,
    href: consoleUrl(event.href),
  }));

/** A click on a marker's link opens the release in place (a new tab still works). */
function openMarker(event: MouseEvent) {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const target = event.target instanceof Element ? event.target : null;
  const link = target?.closest('a[data-testid=chart-marker]');
  if (!(link instanceof HTMLAnchorElement)) return;
  const path = new URL(link.href).pathname;
  const base = consoleUrl('');
  if (!path.startsWith(`${base}/`)) return;
  event.preventDefault();
  navigate(path.slice(base.length));
}

/**
 * The application's rate, errors and latency over the last hour: one line per version that
 * served in it (per version and machine in the per-machine view), errors at zero where a
 * version had traffic and no 5xx, and a marker per release event linking to the release.
 */
export function RedCharts({ appId }: { appId: string }) {
  const [perMachine, setPerMachine] = useState(false);
  const by = perMachine ? 'machine' : 'version';
  const metrics = useResource(
    (signal) =>
      api
        .GET('/api/v1/applications/{id}/metrics', {
          params: { path: { id: appId }, query: { minutes: 60, by } },
          signal,
        })
        .then(body),
    [appId, by],
    { intervalMs: 30_000 },
  );
  // An answer for the other view (still loading the new one) is not drawn as this one.
  const data = metrics.data?.by === by ? metrics.data : undefined;
  const byName = new Map(data?.metrics.map((metric) => [metric.metric, metric]));
  const colours = coloursOf(data);
  const markers = markersOf(data);
  return (
    <section onClick={openMarker} data-testid="red-charts" data-by={by}>
      <h2>RED metrics, last hour</h2>
      <label class="filter">
        <input
          type="checkbox"
          data-testid="per-machine"
          checked={perMachine}
          onChange={(event) => setPerMachine(event.currentTarget.checked)}
        />
        per machine
      </label>
      <ErrorBox error={metrics.error} />
      {data?.notes.map((note) => (
        <p class="muted" data-testid="chart-note" key={note}>
          {note}
        </p>
      ))}
      <div class="charts">
        {(['rate', 'errors', 'latency'] as const).map((name) => {
          const metric = byName.get(name);
          return (
            <Chart
              key={`${name}-${by}`}
              testid="red-chart"
              data={{ metric: name, by }}
              title={titles[name]}
              unit={metric?.unit ?? ''}
              lines={metric === undefined ? [] : lines(metric, colours)}
              markers={markers}
              {...(data === undefined ? {} : { xRange: [data.from, data.to] as const })}
              empty={
                metric === undefined
                  ? metrics.loading || metrics.data !== undefined
                    ? 'loading…'
                    : 'Prometheus did not answer'
                  : 'Prometheus has no data for this application in the last hour'
              }
            />
          );
        })}
      </div>
    </section>
  );
}
