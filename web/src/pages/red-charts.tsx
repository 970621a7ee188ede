import { api, enc } from '../api';
import { Chart, type ChartLine } from '../components/chart';
import { ErrorBox } from '../components/error-box';
import { useResource } from '../resource';
import type { ApplicationMetrics, MetricSeries, RedMetric } from '../types';

const titles: Record<RedMetric['metric'], string> = {
  rate: 'Requests per second',
  errors: 'Errors (5xx) per second',
  latency: 'p99 latency',
};

function seriesLabel(series: MetricSeries): string {
  const { version, ...rest } = series.labels;
  const others = Object.entries(rest).map(([name, value]) => `${name}=${value}`);
  return [version ?? 'value', ...others].join(' ');
}

const lines = (metric: RedMetric): ChartLine[] =>
  metric.series.map((series) => ({
    label: seriesLabel(series),
    timestamps: series.timestamps,
    values: series.values,
  }));

/** The application's rate, errors and latency over the last hour, one line per version. */
export function RedCharts({ appId }: { appId: string }) {
  const metrics = useResource(
    (signal) =>
      api<ApplicationMetrics>(`/api/v1/applications/${enc(appId)}/metrics?minutes=60`, {
        signal,
      }),
    [appId],
    { intervalMs: 30_000 },
  );
  const byName = new Map(metrics.data?.metrics.map((metric) => [metric.metric, metric]));
  return (
    <section>
      <h2>RED metrics, last hour</h2>
      <ErrorBox error={metrics.error} />
      <div class="charts">
        {(['rate', 'errors', 'latency'] as const).map((name) => {
          const metric = byName.get(name);
          return (
            <Chart
              key={name}
              testid="red-chart"
              data={{ metric: name }}
              title={titles[name]}
              unit={metric?.unit ?? ''}
              lines={metric === undefined ? [] : lines(metric)}
              {...(metrics.data === undefined
                ? {}
                : { xRange: [metrics.data.from, metrics.data.to] as const })}
              empty={
                metric === undefined
                  ? metrics.loading
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
