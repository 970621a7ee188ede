import { useState } from 'preact/hooks';
import { api, enc } from '../api';
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

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="small"
      data-testid="copy-promql"
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

/** The root-cause report of a release: what went wrong, the suspects, and what to do. */
export function AnalysisReportView({ report }: { report: AnalysisReport }) {
  const series = useResource(
    (signal) =>
      api<AnalysisSeries>(`/api/v1/deployments/${enc(report.deployment_id)}/analysis/series`, {
        signal,
      }),
    [report.deployment_id, report.createdTime],
  );
  const byName = new Map(series.data?.items.map((item) => [item.name, item]));
  return (
    <section class="report" data-testid="analysis-report">
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
      {report.anomalous_metrics.length === 0 && <p class="muted">None named.</p>}
      {report.anomalous_metrics.map((metric) => {
        const item = byName.get(metric.name);
        return (
          <div key={metric.name} class="anomalous" data-testid="anomalous-metric">
            <h4>{metric.name}</h4>
            <p>
              {metric.observation}
              {metric.observed !== undefined && ` Observed ${formatNumber(metric.observed)}`}
              {metric.baseline !== undefined && `, before ${formatNumber(metric.baseline)}`}
              {(metric.observed !== undefined || metric.baseline !== undefined) && '.'}
            </p>
            <Chart
              testid="metric-chart"
              title={`${formatTime(report.baseline_window.from)} – ${formatTime(report.window.to)}`}
              unit=""
              lines={(item?.series ?? []).map((one) => ({
                label: seriesLabel(one),
                timestamps: one.timestamps,
                values: one.values,
              }))}
              height={160}
              {...(series.data === undefined
                ? {}
                : { xRange: [series.data.from, series.data.to] as const })}
              empty={
                item?.error ??
                (series.loading ? 'loading…' : 'Prometheus has no data for this query')
              }
            />
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
