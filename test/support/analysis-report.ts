import type { AnalysisContext } from '../../activities/analyzer/types';
import { AnalysisReport, REDMetrics, type AnalysisFindings } from '../../domain';

/** A complete, valid report of deployment `dep-1` of `shop`, with the fields given replaced. */
export function sampleReport(overrides: Partial<AnalysisReport> = {}): AnalysisReport {
  return AnalysisReport.parse({
    deployment_id: 'dep-1',
    app_id: 'app-reports',
    app_name: 'shop',
    version: 'v1.1.0',
    previous_version: 'v1.0.0',
    trigger: 'rollback',
    reason: 'error rate 0.31 > 0.05',
    analyzer: 'heuristic',
    summary: 'v1.1.0 answers 31% of /api/pay with 500.',
    fault_class: 'errors',
    anomalous_metrics: [
      {
        name: 'error rate of /api/pay',
        promql: 'sum(rate(http_requests_total{app="shop",route="/api/pay",status=~"5.."}[1m]))',
        observed: 0.31,
        baseline: 0.001,
        observation: '0.31 against 0.001 before the release: payments fail.',
      },
    ],
    root_cause: 'PR #12 removed the retry around the payment gateway call.',
    suspect_changes: [
      {
        number: 12,
        title: 'Remove retry from the payment client',
        url: 'https://github.com/acme/shop/pull/12',
        author: 'alice',
        score: 0.9,
        evidence: ['changes routes/pay.ts, the route whose errors rose'],
      },
    ],
    remediation: ['Keep v1.0.0 on every machine.', 'Restore the retry and release again.'],
    confidence: 0.8,
    tool_calls: [],
    window: { from: 1_000, to: 61_000 },
    baseline_window: { from: -59_000, to: 1_000 },
    changes: { source: 'git', pull_requests: 3, truncated: false },
    createdTime: 1_000,
    ...overrides,
  });
}

/** What an analyzer is given about a release of `shop` v1.1.0 that went bad, one PR in it. */
export function sampleContext(overrides: Partial<AnalysisContext> = {}): AnalysisContext {
  const to = Date.now();
  return {
    deployment_id: 'dep-1',
    app_name: 'shop',
    version: 'v1.1.0',
    previous_version: 'v1.0.0',
    instances: ['m1'],
    red_metrics: REDMetrics.parse({}),
    trigger: 'rollback',
    reason: 'metric guard: error rate 0.31 > 0.05',
    failing: [],
    alerts: [],
    window: { from: to - 120_000, to },
    baseline_window: { from: to - 240_000, to: to - 120_000 },
    changes: {
      source: 'git',
      repo: '/repos/shop',
      from: 'v1.0.0',
      to: 'v1.1.0',
      truncated: false,
      pull_requests: [
        {
          number: 12,
          title: 'Remove retry from the payment client',
          body: 'Retries double-charge.',
          author: 'alice',
          commit: 'abc123',
          files: [
            {
              path: 'routes/pay.ts',
              additions: 1,
              deletions: 3,
              patch: '-  await retry(() => gateway.charge(order))\n+  await gateway.charge(order)',
              truncated: false,
            },
          ],
        },
      ],
    },
    ...overrides,
  };
}

/** The findings part of the sample report: what an analyzer (or a scripted model) answers. */
export function sampleFindings(overrides: Partial<AnalysisFindings> = {}): AnalysisFindings {
  const { summary, fault_class, anomalous_metrics, root_cause, suspect_changes, remediation } =
    sampleReport();
  return {
    summary,
    fault_class,
    anomalous_metrics,
    root_cause,
    suspect_changes,
    remediation,
    confidence: 0.8,
    ...overrides,
  };
}
