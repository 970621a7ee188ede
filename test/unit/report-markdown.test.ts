import { describe, expect, it } from 'vitest';
import { renderReportMarkdown } from '../../domain';
import { sampleReport } from '../support/analysis-report';

const links = { consoleUrl: 'https://relguard.example.com/console' };

describe('renderReportMarkdown', () => {
  it('writes the sections an on-call engineer reads, in order', () => {
    const markdown = renderReportMarkdown(sampleReport(), links);
    const headings = markdown.split('\n').filter((line) => line.startsWith('#'));
    expect(headings).toEqual([
      '# shop v1.1.0 (previous v1.0.0): analysis',
      '## Anomalous metrics',
      '### error rate of /api/pay (0.31 against 0.001)',
      '## Root cause',
      '### Suspect pull requests, most likely first',
      '## Remediation',
      '## How this report was made',
    ]);
    expect(markdown).toContain('- **Confidence:** 80%');
    expect(markdown).toContain('1. Keep v1.0.0 on every machine.\n2. Restore the retry');
  });

  it('escapes free text so a title cannot become markup, and fences queries with backticks', () => {
    const markdown = renderReportMarkdown(
      sampleReport({
        summary: 'see [here](http://evil) and <script>',
        anomalous_metrics: [
          { name: 'odd', promql: 'label_replace(up, "x", "```", "", "")', observation: 'odd' },
        ],
      }),
      links,
    );
    expect(markdown).toContain('see \\[here\\](http://evil) and \\<script\\>');
    expect(markdown).toContain('````promql\nlabel_replace(up, "x", "```", "", "")\n````');
  });

  it('says when nothing stood out, a first release, the fallback and the tool calls', () => {
    const markdown = renderReportMarkdown(
      sampleReport({
        previous_version: '',
        anomalous_metrics: [],
        suspect_changes: [],
        fallback_reason: 'llm: timeout',
        tool_calls: [
          { tool: 'query', arguments: { query: 'up' }, ok: true },
          { tool: 'query', arguments: { query: 'bad(' }, ok: false, detail: 'bad_data' },
        ],
      }),
      links,
    );
    expect(markdown).toContain('v1.1.0 (first release)');
    expect(markdown).toContain('None stood out.');
    expect(markdown).not.toContain('Suspect pull requests');
    expect(markdown).toContain('- **Fallback:** llm: timeout');
    expect(markdown).toContain('- **Tool calls:** 2\n  - ok query: `up`\n  - failed query: `bad(`');
  });

  it("links each anomalous metric to its chart on the console's release page", () => {
    const [first] = sampleReport().anomalous_metrics;
    const report = sampleReport({
      deployment_id: 'dep 7/x',
      anomalous_metrics: [first!, { ...first!, name: 'p99 of /api/pay' }],
    });
    const markdown = renderReportMarkdown(report, {
      consoleUrl: 'https://ops.example.com/relguard/',
    });
    const page = 'https://ops.example.com/relguard/releases/dep%207%2Fx';
    expect(markdown).toContain(`- **Deployment:** dep 7/x ([release page](${page}))`);
    const charts = [...markdown.matchAll(/\[Chart[^\]]*\]\(([^)]+)\)/g)].map((match) => match[1]);
    expect(charts).toEqual([`${page}#metric-1`, `${page}#metric-2`]);
    // Each link sits under its own metric, before the query that reproduces its number.
    const second = markdown.indexOf('### p99 of /api/pay');
    expect(markdown.indexOf(`${page}#metric-1`)).toBeLessThan(second);
    expect(markdown.indexOf(`${page}#metric-2`)).toBeGreaterThan(second);
    expect(markdown.indexOf(`${page}#metric-2`)).toBeLessThan(
      markdown.indexOf('```promql', second),
    );
  });
});
