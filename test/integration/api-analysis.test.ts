import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisRequest } from '../../activities/analysis';
import { createLogger } from '../../activities/logger';
import { createApp } from '../../api/app';
import type { Releases } from '../../api/releases';
import { ApplicationInput, type Application, type Deployment } from '../../domain';
import { sampleReport } from '../support/analysis-report';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';

/**
 * The analysis report over the api (JSON and Markdown), and the Alertmanager webhook that
 * starts analyses, over real storage. Starting the analysis workflow itself is recorded here;
 * it runs for real in test/integration/guard.test.ts.
 */
let testStore: TestStore;
let app: TestApi;
let recent: Deployment;
let analysed: Deployment;
const started: AnalysisRequest[] = [];
const now = Date.now();

const releases: Releases = new Proxy(releasesNotUsedHere, {
  get(target, method, receiver) {
    if (method !== 'startAnalysis') return Reflect.get(target, method, receiver) as unknown;
    return (request: AnalysisRequest) => {
      started.push(request);
      return Promise.resolve({ workflowId: `analysis-${request.deploymentId}` });
    };
  },
});

beforeAll(async () => {
  testStore = await startTestStore();
  const { store } = testStore;
  const api = createApp({
    store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'silent'),
    alertLookbackMs: 3600_000,
    consoleUrl: 'https://ops.example.com/relguard',
  });
  // Alertmanager calls with a deployer token (temporal-dev.sh gives it the local admin's).
  app = withToken(api, await tokenFor(store, 'deployer'));
  const input = (name: string) =>
    ApplicationInput.parse({
      name,
      deploy_path: '/srv/x',
      start_cmd: 'node main.js',
      machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
    });
  const deployment = (appOf: Application, version: string) => ({
    app_name: appOf.name,
    app_id: appOf.id,
    status: 'rolled_back' as const,
    package_version: version,
    gray_machine_id: 'm1',
    platform: 'local' as const,
    previous_version: 'v1.0.0',
    node_deployments: [],
  });
  const shop = await store.applications.create(input('shop'));
  const stale = await store.applications.create(input('legacy'));
  const done = await store.applications.create(input('billing'));
  await store.deployments.create(deployment(stale, 'v9'), now - 2 * 3600_000);
  await store.deployments.create(deployment(shop, 'v1.0.0'), now - 600_000);
  recent = await store.deployments.create(deployment(shop, 'v1.1.0'), now - 300_000);
  analysed = await store.deployments.create(deployment(done, 'v3'), now - 300_000);
  await store.analysisReports.save(
    sampleReport({ deployment_id: analysed.id, app_id: done.id, createdTime: now - 60_000 }),
  );
});
afterAll(async () => {
  await testStore?.close();
});

async function get(path: string) {
  const response = await app.request(path);
  return { status: response.status, type: response.headers.get('content-type'), response };
}

describe('GET /api/v1/deployments/:id/analysis', () => {
  it('is 404 naming the deployment, and the workflow to look at, until a report exists', async () => {
    const missing = await get(`/api/v1/deployments/${recent.id}/analysis`);
    expect(missing.status).toBe(404);
    const body = (await missing.response.json()) as {
      error: { message: string; details: { workflow_id: string } };
    };
    expect(body.error.message).toContain(`deployment ${recent.id} has no analysis report yet`);
    expect(body.error.details.workflow_id).toBe(`analysis-${recent.id}`);
    expect((await get('/api/v1/deployments/nope/analysis')).status).toBe(404);
  });

  it('returns the report as JSON', async () => {
    const { status, response } = await get(`/api/v1/deployments/${analysed.id}/analysis`);
    expect(status).toBe(200);
    const report = (await response.json()) as Record<string, unknown>;
    expect(report).toMatchObject({
      deployment_id: analysed.id,
      fault_class: 'errors',
      suspect_changes: [{ number: 12, score: 0.9 }],
    });
  });

  it('returns it as Markdown with the PromQL to paste and the suspects linked', async () => {
    const { status, type, response } = await get(
      `/api/v1/deployments/${analysed.id}/analysis?format=markdown`,
    );
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/markdown/);
    const markdown = await response.text();
    expect(markdown).toContain(
      '```promql\nsum(rate(http_requests_total{app="shop",route="/api/pay",status=~"5.."}[1m]))\n```',
    );
    expect(markdown).toContain(
      '1. [#12 Remove retry from the payment client](https://github.com/acme/shop/pull/12) by alice',
    );
    expect(markdown).toContain('## Remediation');
    // The chart of each anomalous metric, on the console's release page (CONSOLE_PUBLIC_URL).
    expect(markdown).toContain(
      `(https://ops.example.com/relguard/releases/${analysed.id}#metric-1)`,
    );
  });

  it('refuses an unknown format with 400 naming the parameter', async () => {
    const { status, response } = await get(
      `/api/v1/deployments/${analysed.id}/analysis?format=pdf`,
    );
    expect(status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('format');
  });
});

const alert = (labels: Record<string, string>, status = 'firing', startsAt = now - 30_000) => ({
  status,
  labels,
  annotations: { summary: `${labels.alertname} is high` },
  startsAt: new Date(startsAt).toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus/graph',
  fingerprint: Math.random().toString(16).slice(2),
});

async function webhook(body: unknown) {
  const response = await app.request('/api/v1/webhooks/alertmanager', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /api/v1/webhooks/alertmanager', () => {
  it("starts one analysis of the app's recent release for its firing alerts, and says what it ignored", async () => {
    started.length = 0;
    const { status, body } = await webhook({
      version: '4',
      groupKey: '{}:{app="shop"}',
      status: 'firing',
      receiver: 'relguard',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager',
      alerts: [
        alert({ alertname: 'HighErrorRate', app: 'shop' }),
        alert({ alertname: 'HighLatency', app: 'shop' }),
        alert({ alertname: 'HighErrorRate', app: 'shop' }, 'resolved'),
        alert({ alertname: 'DiskFull' }),
        alert({ alertname: 'HighErrorRate', app: 'nobody' }),
        alert({ alertname: 'HighErrorRate', app: 'legacy' }),
        alert({ alertname: 'HighErrorRate', app: 'billing' }, 'firing', now - 120_000),
      ],
    });
    expect(status).toBe(202);
    expect(body.started).toEqual([
      {
        app: 'shop',
        deployment_id: recent.id,
        workflow_id: `analysis-${recent.id}`,
        alerts: ['HighErrorRate', 'HighLatency'],
      },
    ]);
    expect(body.ignored).toEqual([
      { alert: 'HighErrorRate', reason: 'resolved' },
      { alert: 'DiskFull', reason: 'no app label' },
      { alert: 'HighErrorRate', reason: 'no application named nobody' },
      { alert: 'HighErrorRate', reason: 'legacy has no release in the lookback' },
      { alert: 'HighErrorRate', reason: `deployment ${analysed.id} was analysed after it fired` },
    ]);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      deploymentId: recent.id,
      trigger: 'alert',
      reason: 'HighErrorRate, HighLatency fired: HighErrorRate is high; HighLatency is high',
    });
    expect(started[0]?.alerts?.map((a) => a.labels.alertname)).toEqual([
      'HighErrorRate',
      'HighLatency',
    ]);
  });

  it('analyses again an alert that fired after the last report', async () => {
    started.length = 0;
    const { body } = await webhook({
      version: '4',
      status: 'firing',
      alerts: [alert({ alertname: 'HighErrorRate', app: 'billing' }, 'firing', now - 10_000)],
    });
    expect(body.started).toEqual([expect.objectContaining({ deployment_id: analysed.id })]);
  });

  it('is 422 naming the field when the body is not an Alertmanager payload', async () => {
    started.length = 0;
    const { status, body } = await webhook({ version: '4', status: 'firing', alerts: [{}] });
    expect(status).toBe(422);
    expect(JSON.stringify(body)).toContain('alerts.0.status');
    expect(started).toEqual([]);
  });
});
