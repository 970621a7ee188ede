import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Alert,
  AnalysisReport,
  Application,
  Deployment,
  DeploymentStatus,
} from '../../domain';
import { runLoad } from '../../mockserver/load-generator';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';

/**
 * The metric guard for real: the mockserver released onto three local machines while the
 * load generator runs, scraped by a real Prometheus through the targets relguard writes; an
 * error fault injected on the gray machine with one request rolls the release back, with the
 * evidence, and one alert reaches a webhook.
 */
let stack: ReleaseStack;
let prometheus: TestPrometheus;
let repo: string;
let deployPath: string;
let app: Application;
let receiver: http.Server;
const alerts: { alert: Alert }[] = [];
const ports: number[] = [];
const load = new AbortController();
let loadDone: Promise<unknown>;

async function api<T>(method: string, url: string, body?: unknown) {
  const response = await stack.app.request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function waitFor(id: string, wanted: DeploymentStatus[], seconds = 120) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const { body } = await api<Deployment>('GET', `/api/v1/deployments/${id}`);
    if (wanted.includes(body.status)) return body;
    if (Date.now() > deadline)
      throw new Error(`deployment is ${body.status}, not ${wanted.join('|')}`);
    await delay(250);
  }
}

async function waitForAnalysis(id: string, seconds = 90): Promise<AnalysisReport> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const response = await stack.app.request(`/api/v1/deployments/${id}/analysis`);
    if (response.status === 200) return (await response.json()) as AnalysisReport;
    if (Date.now() > deadline) throw new Error(`no analysis of ${id} after ${seconds} s`);
    await delay(500);
  }
}

async function release(version: string): Promise<string> {
  const started = await api<Deployment>('POST', '/api/v1/deployments', {
    app_id: app.id,
    package_version: version,
  });
  expect(started.status).toBe(202);
  return started.body.id;
}

async function versions(): Promise<string[]> {
  return await Promise.all(
    ports.map(async (port) => {
      const response = await fetch(`http://127.0.0.1:${port}/version`);
      return ((await response.json()) as { version: string }).version;
    }),
  );
}

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      alerts.push(JSON.parse(body) as { alert: Alert });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
  [stack, repo, deployPath] = await Promise.all([
    startReleaseStack({
      prometheusUrl: prometheus.url,
      targetsDir: prometheus.targetsDir,
      notifyChannels: {
        oncall: {
          type: 'webhook',
          url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`,
        },
      },
    }),
    createDemoRepo([
      { tag: 'v1.0.0' },
      {
        tag: 'v2.0.0',
        pullRequests: [
          {
            number: 7,
            title: 'Docs: explain the pacer',
            author: 'bob',
            files: { 'docs/pacer.md': '# The pacer\n' },
          },
          {
            number: 8,
            title: 'Orders: answer from the cache',
            author: 'carol',
            files: { 'src/orders.ts': 'export const fromCache = true;\n' },
          },
        ],
      },
    ]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-machines-')),
  ]);
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  const window = '[5s]';
  const created = await api<Application>('POST', '/api/v1/applications', {
    name: 'shop',
    repo,
    deploy_path: deployPath,
    start_cmd: 'node main.js',
    machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
    pacer: { batch_size: 1, gray_bake_seconds: 8, interval_seconds: 1 },
    rollback_policy: {
      interval_seconds: 2,
      consecutive_breaches: 2,
      // The window after the last batch: two breaches' worth, not the default minute.
      verify_seconds: 4,
      rules: [
        { name: 'error rate above 10%', metric: 'error_rate', threshold: 0.1, min_request_rate: 1 },
      ],
      notify: ['oncall'],
    },
    red_metrics_config: {
      rate: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}${window}))`,
      errors: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",status=~"5.."}${window}))`,
      duration: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}${window})))`,
    },
  });
  expect(created.status).toBe(201);
  app = created.body;
  loadDone = runLoad({
    targets: ports.map((port) => `http://127.0.0.1:${port}`),
    rps: 60,
    signal: load.signal,
    timeoutMs: 2000,
  });
}, 240_000);

afterAll(async () => {
  load.abort();
  await loadDone?.catch(() => undefined);
  const current = await stack?.testStore.store.applications.find(app?.id ?? '');
  for (const machine of current?.machines ?? []) {
    await stack.activityDeps.deps.platforms.local.stop({ app: current!, machine });
  }
  await stack?.stop();
  await prometheus?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

describe('the metric guard on a real release', () => {
  it('lets a healthy release through: v1.0.0 under load ends succeeded, no alert', async () => {
    const done = await waitFor(await release('v1.0.0'), [
      'succeeded',
      'rolled_back',
      'failed',
      'paused',
    ]);
    expect(done.status).toBe('succeeded');
    expect(await versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
    expect(alerts).toEqual([]);
    // relguard told Prometheus about every machine, with its version (scraped within seconds).
    const up = 'count(up{job="relguard-nodes",app="shop",version="v1.0.0"} == 1)';
    let scraped: number | undefined;
    for (let i = 0; i < 40 && scraped !== 3; i++) {
      scraped = await prometheus.query(up);
      if (scraped !== 3) await delay(250);
    }
    expect(scraped).toBe(3);
    // Each batch waits for the guard's judgement (its grace, then two evaluations).
  }, 180_000);

  it('rolls v2.0.0 back when one curl breaks the gray machine, with the evidence, an alert and a report', async () => {
    await api('PUT', `/api/v1/applications/${app.id}`, {
      pacer: { batch_size: 1, gray_bake_seconds: 60, interval_seconds: 1 },
    });
    const id = await release('v2.0.0');
    await waitFor(id, ['verifying']);
    expect(await versions()).toEqual(['v2.0.0', 'v1.0.0', 'v1.0.0']);

    // The one curl: curl -XPOST 'localhost:PORT/faults/error?rate=0.5&duration=60s'
    const fault = await fetch(`http://127.0.0.1:${ports[0]}/faults/error?rate=0.5&duration=60s`, {
      method: 'POST',
    });
    expect(fault.status).toBe(201);
    const injectedAt = Date.now();

    const done = await waitFor(id, ['rolled_back', 'succeeded', 'failed']);
    expect(done.status).toBe('rolled_back');
    expect(done.rollback?.requested_by).toBe('metric-guard');
    const failing = done.rollback?.failing?.[0];
    expect(failing).toMatchObject({
      rule: 'error rate above 10%',
      verdict: 'fail',
      threshold: 0.1,
    });
    expect(failing?.value).toBeGreaterThan(0.1);
    expect(failing?.promql).toContain('app="shop"');
    expect(done.rollback?.detected_at).toBeGreaterThan(injectedAt);
    expect(done.reason).toMatch(/^metric guard: error rate/);
    expect(await versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);

    // One alert for the rollback, carrying the evidence and where the analysis will be; then
    // the analysis (the heuristic: no LLM here) writes its report and says so.
    const report = await waitForAnalysis(id);
    for (let i = 0; i < 40 && alerts.length < 2; i++) await delay(250);
    expect(alerts.map((received) => received.alert.kind)).toEqual([
      'rolled_back',
      'analysis_ready',
    ]);
    const [alert, ready] = alerts;
    expect(alert?.alert).toMatchObject({
      app: 'shop',
      version: 'v2.0.0',
      previous_version: 'v1.0.0',
    });
    expect(alert?.alert.failing[0]?.rule).toBe('error rate above 10%');
    expect(alert?.alert.action).toMatch(/rolled back 1 machine\(s\) to v1\.0\.0/);
    expect(alert?.alert.links.map((link) => link.label)).toContain('Analysis');

    expect(report).toMatchObject({
      deployment_id: id,
      trigger: 'rollback',
      analyzer: 'heuristic',
      fault_class: 'errors',
      version: 'v2.0.0',
      previous_version: 'v1.0.0',
      changes: { source: 'git', pull_requests: 2 },
    });
    expect(report.anomalous_metrics.length).toBeGreaterThan(0);
    // Each query of the report runs in Prometheus and finds the data it describes.
    for (const metric of report.anomalous_metrics) {
      expect(await prometheus.query(metric.promql), metric.promql).toBeDefined();
    }
    expect(report.tool_calls.length).toBeGreaterThan(0);
    expect(ready?.alert.title).toContain('shop v2.0.0 analysis');
    const markdown = await stack.app.request(`/api/v1/deployments/${id}/analysis?format=markdown`);
    expect(await markdown.text()).toContain('```promql');

    // The report's alert and its Markdown link each chart on the console's release page.
    const chartLinks = (ready?.alert.links ?? []).filter((link) => link.label.startsWith('Chart'));
    const anchors = report.anomalous_metrics.map((_metric, index) => `#metric-${index + 1}`);
    expect(chartLinks.map((link) => link.url.slice(link.url.indexOf('/releases/')))).toEqual(
      anchors.map((anchor) => `/releases/${id}${anchor}`),
    );
    // Charted without their pins, from before the release through the rollback, with its
    // markers; the pinned queries come back as written.
    const charts = await stack.app.request(`/api/v1/deployments/${id}/analysis/series`);
    expect(charts.status).toBe(200);
    const body = (await charts.json()) as {
      markers: { kind: string; at: number }[];
      items: { promql: string; chart_promql: string; error?: string; series: unknown[] }[];
    };
    const kinds = body.markers.map((marker) => marker.kind);
    expect(kinds.filter((kind) => kind !== 'batch')).toEqual([
      'start',
      'gray_deployed',
      'breach',
      'rollback_begun',
      'rollback_done',
    ]);
    expect(body.items.map((item) => item.promql)).toEqual(
      report.anomalous_metrics.map((metric) => metric.promql),
    );
    for (const item of body.items) {
      expect(item.error, item.chart_promql).toBeUndefined();
      expect(item.chart_promql).not.toContain('@');
    }
    expect(body.items.some((item) => item.series.length > 0)).toBe(true);
  });

  it('lets v2.0.0 through on a second run without the fault', async () => {
    await fetch(`http://127.0.0.1:${ports[0]}/faults/reset`, { method: 'POST' });
    await api('PUT', `/api/v1/applications/${app.id}`, {
      pacer: { batch_size: 1, gray_bake_seconds: 8, interval_seconds: 1 },
    });
    const done = await waitFor(await release('v2.0.0'), [
      'succeeded',
      'rolled_back',
      'failed',
      'paused',
    ]);
    expect(done.status).toBe('succeeded');
    expect(await versions()).toEqual(['v2.0.0', 'v2.0.0', 'v2.0.0']);
    expect(alerts).toHaveLength(2);
  }, 180_000);
});
