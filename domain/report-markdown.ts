import type { AnalysisReport } from './analysis-report';
import { formatNumber } from './policy';

/** Backticks cannot be escaped inside a code block, so the fence outgrows the longest run. */
function fenced(code: string, language: string): string {
  const longestRun = Math.max(2, ...Array.from(code.matchAll(/`+/g), (run) => run[0].length));
  const fence = '`'.repeat(longestRun + 1);
  return `${fence}${language}\n${code}\n${fence}`;
}

/** One line of free text, its Markdown specials escaped so a title cannot become a link. */
function inline(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/([\\`*_[\]<>#|])/g, '\\$1');
}

const percent = (value: number): string => `${Math.round(value * 100)}%`;
const iso = (ms: number): string => new Date(ms).toISOString();

/** The console's release page of a deployment; `consoleUrl` is CONSOLE_PUBLIC_URL. */
export function releasePageUrl(consoleUrl: string, deploymentId: string): string {
  return `${consoleUrl.replace(/\/+$/, '')}/releases/${encodeURIComponent(deploymentId)}`;
}

/**
 * The anchor of the chart of a report's anomalous metric on the console's release page:
 * `metric-1` for the first (`index` 0), in the report's order.
 */
export const reportChartAnchor = (index: number): string => `metric-${index + 1}`;

/** The chart of the report's anomalous metric `index` (0 for the first) on the release page. */
export function reportChartUrl(consoleUrl: string, deploymentId: string, index: number): string {
  return `${releasePageUrl(consoleUrl, deploymentId)}#${reportChartAnchor(index)}`;
}

export interface ReportMarkdownOptions {
  /** The web console as people reach it (CONSOLE_PUBLIC_URL): each chart is linked there. */
  consoleUrl: string;
}

/**
 * The report as Markdown for a person on call: what happened, the queries to paste into
 * Prometheus with a link to each one's chart over the release, the suspects with their
 * evidence, what to do, and how the report was made.
 */
export function renderReportMarkdown(
  report: AnalysisReport,
  options: ReportMarkdownOptions,
): string {
  const lines: string[] = [];
  const versions = report.previous_version
    ? `${report.version} (previous ${report.previous_version})`
    : `${report.version} (first release)`;
  lines.push(`# ${inline(report.app_name)} ${inline(versions)}: analysis`, '');
  lines.push(inline(report.summary), '');
  lines.push(
    `- **Deployment:** ${inline(report.deployment_id)} ([release page](${releasePageUrl(options.consoleUrl, report.deployment_id)}))`,
    `- **Trigger:** ${report.trigger}: ${inline(report.reason)}`,
    `- **Fault:** ${report.fault_class}`,
    `- **Confidence:** ${percent(report.confidence)}`,
    `- **Window:** ${iso(report.window.from)} to ${iso(report.window.to)}, against ${iso(report.baseline_window.from)} to ${iso(report.baseline_window.to)}`,
    '',
  );

  lines.push('## Anomalous metrics', '');
  if (report.anomalous_metrics.length === 0) lines.push('None stood out.', '');
  report.anomalous_metrics.forEach((metric, index) => {
    const numbers =
      metric.observed === undefined
        ? ''
        : ` (${formatNumber(metric.observed)}${metric.baseline === undefined ? '' : ` against ${formatNumber(metric.baseline)}`})`;
    lines.push(`### ${inline(metric.name)}${numbers}`, '', inline(metric.observation), '');
    const chart = reportChartUrl(options.consoleUrl, report.deployment_id, index);
    lines.push(`[Chart from before the release through the rollback](${chart})`, '');
    lines.push(fenced(metric.promql, 'promql'), '');
  });

  lines.push('## Root cause', '', inline(report.root_cause), '');
  if (report.suspect_changes.length > 0) {
    lines.push('### Suspect pull requests, most likely first', '');
    report.suspect_changes.forEach((suspect, index) => {
      const name = `${suspect.number === undefined ? '' : `#${suspect.number} `}${inline(suspect.title)}`;
      const linked = suspect.url === undefined ? name : `[${name}](${suspect.url})`;
      const by = suspect.author ? ` by ${inline(suspect.author)}` : '';
      lines.push(`${index + 1}. ${linked}${by}, score ${formatNumber(suspect.score)}`);
      for (const evidence of suspect.evidence) lines.push(`   - ${inline(evidence)}`);
    });
    lines.push('');
  }

  lines.push('## Remediation', '');
  report.remediation.forEach((step, index) => lines.push(`${index + 1}. ${inline(step)}`));
  lines.push('');

  lines.push('## How this report was made', '');
  const by = report.model === undefined ? report.analyzer : `${report.analyzer} (${report.model})`;
  lines.push(`- **Analyzer:** ${inline(by)}, ${iso(report.createdTime)}`);
  if (report.fallback_reason !== undefined) {
    lines.push(`- **Fallback:** ${inline(report.fallback_reason)}`);
  }
  const { changes } = report;
  const compare = changes.compare_url === undefined ? '' : ` ([compare](${changes.compare_url}))`;
  lines.push(
    `- **Changes:** ${changes.pull_requests} pull request(s) from ${changes.source}${compare}${changes.truncated ? ', truncated to the budget' : ''}${changes.note === undefined ? '' : `; ${inline(changes.note)}`}`,
  );
  lines.push(`- **Tool calls:** ${report.tool_calls.length}`);
  for (const call of report.tool_calls) {
    const query =
      typeof call.arguments.query === 'string'
        ? `: \`${call.arguments.query.replace(/`/g, "'")}\``
        : '';
    lines.push(`  - ${call.ok ? 'ok' : 'failed'} ${inline(call.tool)}${query}`);
  }
  return `${lines.join('\n')}\n`;
}
