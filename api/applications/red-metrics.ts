import { defaultStepSeconds, PrometheusError } from '../../activities/metrics/prometheus';
import {
  FailureType,
  renderTemplate,
  RelguardError,
  type Application,
  type REDMetrics,
} from '../../domain';
import { chartSeries, type MetricSeries, type RangeQuerySource } from '../prometheus-series';

const redMetrics = [
  { metric: 'rate', unit: 'req/s', template: (red: REDMetrics) => red.rate },
  { metric: 'errors', unit: 'req/s', template: (red: REDMetrics) => red.errors },
  { metric: 'latency', unit: 's', template: (red: REDMetrics) => red.duration },
] as const;

/** At most this many versions are charted: those the machines run, then current and previous. */
const maxVersions = 4;

/**
 * The versions worth a series: what the machines run now (two of them in the middle of a
 * release), then the application's current and previous version. The RED templates select by
 * version, so an application that never ran one has none.
 */
export function chartedVersions(
  app: Pick<Application, 'machines' | 'currentVersion' | 'prev_version'>,
) {
  const versions = [
    ...app.machines.map((machine) => machine.version),
    app.currentVersion,
    app.prev_version,
  ].filter((version) => version !== '');
  return [...new Set(versions)].slice(0, maxVersions);
}

/**
 * The application's RED metrics from `from` to `to` (epoch ms): for each metric its template
 * rendered per charted version with the application's machines as `{{instances}}`, run as range
 * queries. A template that cannot be rendered, or that Prometheus refuses, is BadConfig (422);
 * Prometheus down is Unavailable (503).
 */
export async function queryRedMetrics(
  prometheus: RangeQuerySource,
  app: Application,
  window: { from: number; to: number },
) {
  const step = defaultStepSeconds(window.from, window.to);
  const versions = app.machines.length === 0 ? [] : chartedVersions(app);
  const instances = app.machines.map((machine) => machine.id);
  const metrics = await Promise.all(
    redMetrics.map(async ({ metric, unit, template }) => {
      const queries = versions.map((version) => ({
        version,
        promql: renderTemplate(template(app.red_metrics_config), {
          app: app.name,
          version,
          instances,
        }),
      }));
      const perVersion = await Promise.all(
        queries.map(async ({ version, promql }): Promise<MetricSeries[]> => {
          try {
            return await chartSeries(
              prometheus,
              promql,
              { start: window.from, end: window.to, stepSeconds: step },
              { version },
            );
          } catch (error) {
            if (error instanceof PrometheusError) {
              throw new RelguardError(
                FailureType.BadConfig,
                `Prometheus refused the ${metric} query of ${app.name} (red_metrics_config): ${error.message}`,
                { promql },
              );
            }
            throw error;
          }
        }),
      );
      return { metric, unit, queries, series: perVersion.flat() };
    }),
  );
  return { app_id: app.id, from: window.from, to: window.to, step_seconds: step, metrics };
}
