import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeuristicAnalyzer } from '../../activities/analyzer/heuristic';
import type { AnalysisContext } from '../../activities/analyzer/types';
import { PrometheusClient, PrometheusError } from '../../activities/metrics';
import {
  AnalysisFindings,
  PullRequest,
  REDMetrics,
  type ReleaseChanges,
  type ToolCall,
} from '../../domain';
import { runLoad } from '../../mockserver/load-generator';
import type { MockServer } from '../../mockserver/server';
import { call, sleep, startServer } from '../mockserver/helpers';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';

const diff = (...lines: string[]): string => ['@@ -1,3 +1,6 @@', ...lines].join('\n');

const pullRequest = (input: {
  number: number;
  title: string;
  files: { path: string; patch: string; additions: number; deletions: number }[];
}): PullRequest =>
  PullRequest.parse({
    ...input,
    author: `dev${input.number}`,
    url: `https://github.com/acme/shop/pull/${input.number}`,
    commit: String(input.number).padStart(40, '0'),
  });

// Newest first, as a change source gives them; the culprit sits in the middle on purpose.
const changes: ReleaseChanges = {
  source: 'github',
  repo: 'acme/shop',
  from: 'v1.0.0',
  to: 'v1.1.0',
  truncated: false,
  pull_requests: [
    pullRequest({
      number: 14,
      title: 'Bump prom-client from 15.1.2 to 15.1.3',
      files: [
        {
          path: 'package.json',
          patch: diff('-    "prom-client": "15.1.2",', '+    "prom-client": "15.1.3",'),
          additions: 1,
          deletions: 1,
        },
        {
          path: 'package-lock.json',
          patch: diff('-      "version": "15.1.2",', '+      "version": "15.1.3",'),
          additions: 1,
          deletions: 1,
        },
      ],
    }),
    pullRequest({
      number: 13,
      title: 'Ship the new payment provider behind its config',
      files: [
        {
          path: 'mockserver.config.json',
          patch: diff(
            '-{ "faults": [] }',
            '+{',
            '+  "faults": [{ "type": "error", "params": { "rate": 0.5, "routes": ["/api/pay"] } }]',
            '+}',
          ),
          additions: 3,
          deletions: 1,
        },
      ],
    }),
    pullRequest({
      number: 12,
      title: 'Orders: shorter upstream timeout',
      files: [
        {
          path: 'mockserver/routes.ts',
          patch: diff(
            "   { route: '/api/orders', method: 'GET', baselineMs: [5, 25],",
            '-    timeoutMs: 2000,',
            '+    timeoutMs: 800,',
            '+    // The warehouse answers within 500 ms at p99; waiting longer only piles requests up.',
          ),
          additions: 2,
          deletions: 1,
        },
      ],
    }),
    pullRequest({
      number: 11,
      title: 'Document the pay endpoint',
      files: [
        {
          path: 'README.md',
          patch: diff(
            '+`POST /api/pay` charges an order: 201, or 500 when the payment gateway fails.',
          ),
          additions: 1,
          deletions: 0,
        },
      ],
    }),
  ],
};

const red = REDMetrics.parse({});
const noProgress = (): void => undefined;

function context(
  overrides: Partial<AnalysisContext> & Pick<AnalysisContext, 'window'>,
): AnalysisContext {
  const length = overrides.window.to - overrides.window.from;
  return {
    deployment_id: 'dep-analyzer',
    app_name: 'shop',
    version: 'v1.1.0',
    previous_version: 'v1.0.0',
    instances: ['shop-3'],
    red_metrics: red,
    trigger: 'rollback',
    reason: 'error rate above 5%: error rate 0.08 > 0.05',
    failing: [],
    alerts: [],
    baseline_window: { from: overrides.window.from - length, to: overrides.window.from },
    changes,
    ...overrides,
  };
}

const queriesOf = (calls: readonly ToolCall[]): string[] =>
  calls.map((toolCall) => String(toolCall.arguments.query));

describe('HeuristicAnalyzer on a real Prometheus scraping real mockservers', () => {
  let prometheus: TestPrometheus;
  const servers: MockServer[] = [];
  let window: { from: number; to: number };
  let analyzer: HeuristicAnalyzer;

  beforeAll(async () => {
    const start = (version: string, instance: string) =>
      startServer({ app: 'shop', version, instance, baselineLatency: true });
    const started = await Promise.all([
      startPrometheus({ scrapeIntervalSeconds: 1 }),
      start('v1.0.0', 'shop-1'),
      start('v1.0.0', 'shop-2'),
      start('v1.1.0', 'shop-3'),
      // A healthy release beside the bad one, to show that nothing is invented for it.
      start('v1.0.1', 'shop-4'),
    ]);
    const [testPrometheus, ...shop] = started;
    prometheus = testPrometheus;
    servers.push(...shop);
    const canary = servers[2]!;
    const fault = await call(`${canary.url}/faults`, {
      method: 'POST',
      body: { type: 'error', params: { rate: 0.5, routes: ['/api/pay'] } },
    });
    expect(fault.status).toBe(201);
    // One group per machine, labelled as relguard labels it: the job's target labels win.
    await prometheus.addTargets(
      'shop',
      servers.map((server) => ({
        targets: [`${server.host}:${server.port}`],
        labels: { app: server.app, version: server.version, instance: server.instance },
      })),
    );
    analyzer = new HeuristicAnalyzer(new PrometheusClient({ url: prometheus.url }));

    const from = Date.now();
    await runLoad({ targets: servers.map((server) => server.url), rps: 80, durationMs: 25_000 });
    // The last requests reach Prometheus with the next scrape.
    await sleep(2_000);
    window = { from, to: Date.now() };
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await prometheus?.stop();
  });

  it('finds the errors on /api/pay, a query that still shows them, and the culprit', async () => {
    const progress: string[] = [];
    const result = await analyzer.analyze(context({ window }), (detail) => progress.push(detail));
    const findings = AnalysisFindings.parse(result.findings);

    expect(findings.fault_class).toBe('errors');
    const pay = findings.anomalous_metrics.find(
      (metric) => metric.name === 'error ratio of /api/pay',
    );
    expect(pay, JSON.stringify(findings.anomalous_metrics, null, 2)).toBeDefined();
    // rate 0.5 on ~70 requests; increase() misses each new series' first sample, so a little less.
    expect(pay!.observed).toBeGreaterThan(0.2);
    expect(pay!.baseline).toBe(0);
    expect(pay!.promql).toMatch(/route="\/api\/pay"/);
    expect(pay!.promql).toMatch(new RegExp(`@ ${Math.ceil(window.to / 1000)}\\b`));
    // Pasted later, the query shows the window, not "now".
    await sleep(1_500);
    const replayed = await prometheus.query(pay!.promql);
    expect(replayed).toBeCloseTo(pay!.observed!, 5);
    for (const metric of findings.anomalous_metrics) {
      expect(await prometheus.query(metric.promql), metric.promql).toBeDefined();
    }
    // Only /api/pay failed: no other route is reported.
    for (const route of ['/api/orders', '/api/users/:id']) {
      expect(findings.anomalous_metrics.map((metric) => metric.name).join('\n')).not.toContain(
        route,
      );
    }

    expect(findings.suspect_changes.map((suspect) => suspect.number)).toHaveLength(4);
    expect(findings.suspect_changes[0]!.number).toBe(13);
    expect(findings.suspect_changes[0]!.score).toBeGreaterThan(0.7);
    for (const unrelated of findings.suspect_changes.slice(1)) {
      expect(unrelated.score).toBeLessThan(0.25);
    }
    expect(findings.root_cause).toContain('PR #13');
    expect(findings.summary).toMatch(
      /^shop v1\.1\.0 was rolled back: \d+% of \/api\/pay requests failed with 5xx/,
    );
    expect(findings.confidence).toBeGreaterThan(0.7);
    expect(findings.remediation.join('\n')).toContain('Start with PR #13');

    expect(result.tool_calls.length).toBeGreaterThanOrEqual(14);
    for (const toolCall of result.tool_calls) {
      expect(toolCall).toMatchObject({ tool: 'prometheus.query', ok: true });
      expect(toolCall.arguments.time).toBe(Math.ceil(window.to / 1000));
    }
    // Kayenta style: the old version over the same window, no fallback needed.
    expect(queriesOf(result.tool_calls).some((query) => query.includes('version="v1.0.0"'))).toBe(
      true,
    );
    expect(queriesOf(result.tool_calls).every((query) => query.includes('version='))).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('falls back to the whole app before the release when the old version has no data', async () => {
    const result = await analyzer.analyze(
      context({ window, previous_version: 'v0.9.0' }),
      noProgress,
    );
    const baselineEnd = Math.ceil(window.from / 1000);
    const fallback = result.tool_calls.filter(
      (toolCall) => toolCall.arguments.time === baselineEnd,
    );
    expect(fallback.length).toBeGreaterThan(0);
    expect(queriesOf(fallback).some((query) => query.includes('{app="shop"}'))).toBe(true);
    // Before the window nothing ran: /api/pay is judged against the absolute limit alone.
    expect(result.findings.fault_class).toBe('errors');
    const pay = result.findings.anomalous_metrics.find(
      (metric) => metric.name === 'error ratio of /api/pay',
    );
    expect(pay?.baseline).toBeUndefined();
    expect(pay?.observation).toContain('with no baseline to compare');
  });

  it('says honestly that nothing stood out for a healthy release', async () => {
    const result = await analyzer.analyze(
      context({ window, version: 'v1.0.1', instances: ['shop-4'], reason: 'manual check' }),
      noProgress,
    );
    const findings = AnalysisFindings.parse(result.findings);
    expect(findings).toMatchObject({ fault_class: 'unknown', anomalous_metrics: [] });
    expect(findings.confidence).toBeLessThanOrEqual(0.2);
    expect(findings.summary).toContain('no metric of v1.0.1 stood out against v1.0.0');
    // The pull requests are still listed, none of them named as the cause.
    expect(findings.suspect_changes).toHaveLength(4);
    expect(findings.root_cause).toMatch(
      /^Undetermined: no metric of v1\.0\.1 singles out a fault\./,
    );
  });

  it("lists the guard's failing rule, pinned to the window", async () => {
    const guardPromql =
      '((sum(rate(http_requests_total{app="shop",version="v1.1.0",status=~"5.."}[1m]))) or ' +
      '((sum(rate(http_requests_total{app="shop",version="v1.1.0"}[1m]))) * 0)) / ' +
      '(sum(rate(http_requests_total{app="shop",version="v1.1.0"}[1m])))';
    const result = await analyzer.analyze(
      context({
        window,
        failing: [
          {
            rule: 'error rate above 5%',
            metric: 'error_rate',
            promql: guardPromql,
            value: 0.08,
            operator: '>',
            threshold: 0.05,
            verdict: 'fail',
            message: 'error rate above 5%: error rate 0.08 > 0.05',
          },
        ],
      }),
      noProgress,
    );
    const rule = result.findings.anomalous_metrics.find(
      (metric) => metric.name === 'guard rule "error rate above 5%"',
    );
    expect(rule?.promql).toBe(
      `max_over_time((${guardPromql})[${Math.ceil(window.to / 1000) - Math.floor(window.from / 1000)}s:1s] @ ${Math.ceil(window.to / 1000)})`,
    );
    expect(await prometheus.query(rule!.promql)).toBeGreaterThan(0);
    expect(rule?.observed).toBe(0.08);
  });
});

describe('HeuristicAnalyzer on a stub Prometheus', () => {
  const window = { from: 1_700_000_000_000, to: 1_700_000_060_000 };

  it('lists a failing custom guard rule without inventing a fault class for it', async () => {
    const queries: string[] = [];
    // Only the guard's pinned query has data: the heuristic's own signals show nothing.
    const stub = {
      instantQuery: (promql: string) => {
        queries.push(promql);
        return Promise.resolve({
          resultType: 'vector' as const,
          samples: promql.startsWith('min_over_time')
            ? [{ metric: {}, timestamp: window.to, value: 2 }]
            : [],
        });
      },
    };
    const result = await new HeuristicAnalyzer(stub).analyze(
      context({
        window,
        failing: [
          {
            rule: 'orders per second',
            metric: 'custom',
            promql: 'sum(rate(orders_created_total{app="shop"}[1m]))',
            value: 2,
            operator: '<',
            threshold: 5,
            verdict: 'fail',
            message: 'orders per second: value 2 < 5',
          },
        ],
      }),
      noProgress,
    );
    const findings = AnalysisFindings.parse(result.findings);
    expect(findings.fault_class).toBe('unknown');
    expect(findings.anomalous_metrics).toEqual([
      {
        name: 'guard rule "orders per second"',
        promql:
          'min_over_time((sum(rate(orders_created_total{app="shop"}[1m])))[60s:1s] @ 1700000060)',
        observed: 2,
        observation:
          "The guard's rule failed: orders per second: value 2 < 5; at its lowest over the window it was 2.",
      },
    ]);
    expect(findings.summary).toBe(
      'shop v1.1.0 was rolled back: orders per second: value 2 < 5, but none of the error ratio, ' +
        'p99 latency, traffic, CPU, memory and event-loop lag of v1.1.0 stood out on its own (no ' +
        'baseline had data: neither v1.0.0 during the release nor shop before it).',
    );
    expect(findings.confidence).toBeLessThanOrEqual(0.1);
    // The old version first, then the app before the release: both measured, both empty.
    expect(queries.some((query) => query.includes('version="v1.0.0"'))).toBe(true);
    expect(queries.some((query) => query.includes('{app="shop"}[60s] @ 1700000000'))).toBe(true);
  });

  it('writes an honest report naming the outage, every query recorded as failed', async () => {
    const down = {
      instantQuery: (promql: string) =>
        Promise.reject(
          new PrometheusError('network', 'cannot reach http://127.0.0.1:9: ECONNREFUSED', promql),
        ),
    };
    const result = await new HeuristicAnalyzer(down).analyze(context({ window }), noProgress);
    const findings = AnalysisFindings.parse(result.findings);
    expect(findings).toMatchObject({ fault_class: 'unknown', anomalous_metrics: [] });
    expect(findings.summary).toContain(
      'Prometheus could not be queried (network: cannot reach http://127.0.0.1:9: ECONNREFUSED)',
    );
    expect(findings.confidence).toBeLessThanOrEqual(0.05);
    expect(findings.remediation.join('\n')).toContain('Check that Prometheus is up');
    expect(result.tool_calls.length).toBeGreaterThan(0);
    expect(result.tool_calls.every((toolCall) => !toolCall.ok)).toBe(true);
  });
});
