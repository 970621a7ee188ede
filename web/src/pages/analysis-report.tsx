import { useEffect, useState } from 'preact/hooks';
import { api, body } from '../api';
import { Chart } from '../components/chart';
import { ErrorBox } from '../components/error-box';
import { formatNumber, formatTime } from '../format';
import { useResource } from '../resource';
import type { AnalysisReport, AnalysisSeries, MetricSeries } from '../types';

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // No async clipboard (an insecure origin, or no permission): the old way, a selection.
  }
  const area = document.createElement('textarea');
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

function CopyButton({ text, testid = 'copy-promql' }: { text: string; testid?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="small"
      data-testid={testid}
      onClick={() => {
        void copyText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

const seriesLabel = (series: MetricSeries) =>
  Object.entries(series.labels)
    .filter(([name]) => name !== '__name__')
    .map(([name, value]) => `${name}=${value}`)
    .join(' ') || 'value';

/** The anchor of the chart of anomalous metric `index` (0 for the first): `metric-1`. */
export const metricAnchor = (index: number): string => `metric-${index + 1}`;

type SeriesItem = AnalysisSeries['items'][number];

/**
 * The values of every line of a chart in [from, to), as `data-` attributes of its figure:
 * `<name>-count` (samples with a value), `<name>-min` and `<name>-max` ('' without one), so
 * that a test (or a person with dev tools) can compare before the release with after the breach.
 */
function valueAttributes(
  name: string,
  item: SeriesItem | undefined,
  from: number,
  to: number,
): Record<string, string> {
  const values = (item?.series ?? []).flatMap((one) =>
    one.values.filter(
      (value, index): value is number =>
        value !== null &&
        (one.timestamps[index] ?? -Infinity) >= from &&
        (one.timestamps[index] ?? Infinity) < to,
    ),
  );
  return {
    [`${name}-count`]: String(values.length),
    [`${name}-min`]: values.length === 0 ? '' : String(Math.min(...values)),
    [`${name}-max`]: values.length === 0 ? '' : String(Math.max(...values)),
  };
}

/** What the chart of an anomalous metric says of itself, for tests (see valueAttributes). */
function chartAttributes(
  anchor: string,
  item: SeriesItem | undefined,
  data: AnalysisSeries | undefined,
): Record<string, string> {
  if (data === undefined) return { anchor };
  const start = data.release_window.from;
  const breach = data.markers.find((marker) => marker.kind === 'breach')?.at;
  // After the breach, while the new version still served: until its rollback was done.
  const restored = data.markers.find((marker) => marker.kind === 'rollback_done')?.at ?? Infinity;
  return {
    anchor,
    'release-start': String(start),
    ...(breach === undefined ? {} : { 'breach-at': String(breach) }),
    ...valueAttributes('before', item, data.from, start),
    ...valueAttributes('release', item, start, Infinity),
    ...(breach === undefined ? {} : valueAttributes('after-breach', item, breach, restored)),
  };
}

/**
 * Scrolls to the element the address' #fragment names (`#metric-2`): when the report is shown,
 * and once more when its charts are in (they move what is below them), not at later renders.
 */
function useScrollToFragment(ready: boolean): void {
  useEffect(() => {
    const id = decodeURIComponent(location.hash.slice(1));
    if (id === '') return;
    document.getElementById(id)?.scrollIntoView();
  }, [ready]);
}

/** The root-cause report of a release: what went wrong, the suspects, and what to do. */
export function AnalysisReportView({ report }: { report: AnalysisReport }) {
  const series = useResource(
    (signal) =>
      api
        .GET('/api/v1/deployments/{id}/analysis/series', {
          params: { path: { id: report.deployment_id } },
          signal,
        })
        .then(body),
    [report.deployment_id, report.createdTime],
  );
  const data = series.data;
  // The charts move the page as they arrive: the linked one is scrolled to when they are in.
  useScrollToFragment(data !== undefined);
  const markers = (data?.markers ?? []).map(({ at, kind, label }) => ({ at, kind, label }));
  const bands =
    data === undefined
      ? []
      : [{ ...data.baseline_window, kind: 'baseline', label: 'before the release' }];
  // A release of seconds is a sliver of a 10-minute baseline: one click shows it up close,
  // with as long before it as it lasted.
  const [closeUp, setCloseUp] = useState(false);
  const xRange = (): readonly [number, number] | undefined => {
    if (data === undefined) return undefined;
    const start = data.release_window.from;
    return closeUp
      ? [Math.max(data.from, start - (data.to - start)), data.to]
      : [data.from, data.to];
  };
  const shown = xRange();
  return (
    <section class="report" id="analysis-report" data-testid="analysis-report">
      <h2>Analysis</h2>
      <p class="muted">
        {report.analyzer}
        {report.model !== undefined && ` (${report.model})`} · {report.trigger}: {report.reason} ·{' '}
        {formatTime(report.createdTime)} · confidence {formatNumber(report.confidence)}
        {report.fallback_reason !== undefined &&
          ` · the LLM did not answer: ${report.fallback_reason}`}
      </p>
      <div class="summary" data-testid="analysis-summary">
        <p>{report.summary}</p>
        <p>
          <strong>Root cause ({report.fault_class}):</strong> {report.root_cause}
        </p>
      </div>

      <h3>Anomalous metrics</h3>
      <ErrorBox error={series.error} />
      {data !== undefined && report.anomalous_metrics.length > 0 && (
        <label class="filter">
          <input
            type="checkbox"
            data-testid="close-up"
            checked={closeUp}
            onChange={(event) => setCloseUp(event.currentTarget.checked)}
          />
          Close up on the release (and as long before it)
        </label>
      )}
      {report.anomalous_metrics.length === 0 && <p class="muted">None named.</p>}
      {report.anomalous_metrics.map((metric, index) => {
        // The series answer is in the report's order, one item per anomalous metric.
        const item = data?.items[index];
        const anchor = metricAnchor(index);
        return (
          <div
            key={anchor}
            id={anchor}
            class="anomalous"
            data-testid="anomalous-metric"
            data-anchor={anchor}
          >
            <h4>
              <a href={`#${anchor}`} class="anchor-link">
                {metric.name}
              </a>
            </h4>
            <p>
              {metric.observation}
              {metric.observed !== undefined && ` Observed ${formatNumber(metric.observed)}`}
              {metric.baseline !== undefined && `, before ${formatNumber(metric.baseline)}`}
              {(metric.observed !== undefined || metric.baseline !== undefined) && '.'}
            </p>
            <Chart
              testid="metric-chart"
              data={chartAttributes(anchor, item, data)}
              title={
                data === undefined
                  ? `${formatTime(report.baseline_window.from)} – ${formatTime(report.window.to)}`
                  : `${formatTime(data.from)} – ${formatTime(data.to)}, every ${data.step_seconds} s; shaded: before the release`
              }
              unit=""
              lines={(item?.series ?? []).map((one) => ({
                label: seriesLabel(one),
                timestamps: one.timestamps,
                values: one.values,
              }))}
              height={160}
              markers={markers}
              bands={bands}
              {...(shown === undefined ? {} : { xRange: shown })}
              empty={
                item?.error ??
                (series.loading ? 'loading…' : 'Prometheus has no data for this query')
              }
            />
            {item !== undefined && (
              <>
                <p class="muted promql-caption">
                  Charted at each step (the report's query without its time pins
                  {item.unpinned.length > 0 && `: ${item.unpinned.join(', ')}`}):
                </p>
                {item.unpin_error !== undefined && (
                  <p class="error" data-testid="unpin-error">
                    Charted as written, so it may be one flat value: {item.unpin_error}
                  </p>
                )}
                <div class="promql-row">
                  <code class="promql" data-testid="chart-promql">
                    {item.chart_promql}
                  </code>
                  <CopyButton text={item.chart_promql} testid="copy-chart-promql" />
                </div>
              </>
            )}
            <p class="muted promql-caption">The report's query, which gives its number:</p>
            <div class="promql-row">
              <code class="promql" data-testid="promql">
                {metric.promql}
              </code>
              <CopyButton text={metric.promql} />
            </div>
          </div>
        );
      })}

      <h3>Suspect pull requests</h3>
      {report.suspect_changes.length === 0 && (
        <p class="muted">
          None: {report.changes.note ?? `${report.changes.pull_requests} pull request(s) read`}
        </p>
      )}
      <ol class="suspects">
        {report.suspect_changes.map((change) => (
          <li key={`${change.number ?? ''}${change.title}`} data-testid="suspect-pr">
            <p>
              {change.url === undefined ? (
                <strong>{change.title}</strong>
              ) : (
                <a href={change.url} target="_blank" rel="noopener noreferrer">
                  {change.number === undefined ? '' : `#${change.number} `}
                  {change.title}
                </a>
              )}
              {change.author !== undefined && <span class="muted"> by {change.author}</span>}
              <span class="score"> score {formatNumber(change.score)}</span>
            </p>
            <ul class="evidence-list">
              {change.evidence.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
      {report.changes.compare_url !== undefined && (
        <p>
          <a href={report.changes.compare_url} target="_blank" rel="noopener noreferrer">
            Every change of {report.previous_version} → {report.version}
          </a>
        </p>
      )}

      <h3>Remediation</h3>
      <ol data-testid="remediation">
        {report.remediation.map((step) => (
          <li key={step}>{step}</li>
        ))}
      </ol>
    </section>
  );
}
