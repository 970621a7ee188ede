import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { targetGroups } from '../../activities/prometheus-targets';
import { createApp } from '../../api/app';
import { ApplicationInput, type Application, type Deployment } from '../../domain';
import { runLoad, type LoadSummary } from '../../mockserver/load-generator';
import type { MockServer } from '../../mockserver/server';
import { pollUntil, startServer } from '../mockserver/helpers';
import { sampleReport } from '../support/analysis-report';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import { freePort } from '../support/free-port';
import { startTestStore, type TestStore } from '../support/mongo';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { releasesNotUsedHere } from '../support/releases';
import { startTogether } from '../support/start-together';

/**
 * The routes the console reads besides the resources: who a token is, an application's RED
 * metrics and a report's anomalous metrics as series from a real Prometheus scraping a real
 * mockserver (app shop, version v1, machine m1, under load), and the guard's recorded
 * evaluations, over real storage. Every one is open to a viewer and closed without a token.
 */
let prometheus: TestPrometheus;
let testStore: TestStore;
let server: MockServer;
let viewer: TestApi;
let anonymous: TestApi;
let downApi: TestApi;
let noPrometheusApi: TestApi;
let shop: Application;
let bare: Application;
let broken: Application;
let released: Deployment;
let unreported: Deployment;
const stopLoad = new AbortController();
let load: Promise<LoadSummary> | undefined;

// 5 s windows over a 1 s scrape: data within seconds of the first requests.
const red = {
  rate: 'sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}[5s]))',
  errors: 'sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[5s]))',
  duration:
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[5s])))',
};

const input = (name: string, overrides: Record<string, unknown> = {}) =>
  ApplicationInput.parse({
    name,
    deploy_path: `/srv/${name}`,
    start_cmd: 'node main.js',
    red_metrics_config: red,
    ...overrides,
  });

beforeAll(async () => {
  [prometheus, testStore, server] = await startTogether([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startTestStore(),
    startServer({ app: 'shop', version: 'v1', instance: 'm1' }),
  ]);
  const { store } = testStore;
  const options = {
    store,
    temporal: { check: () => Promise.resolve(true) },
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
  };
  const api = createApp({
    ...options,
    prometheus: new PrometheusClient({ url: prometheus.url, timeoutMs: 5_000 }),
  });
  viewer = withToken(api, await tokenFor(store, 'viewer', 'vera'));
  anonymous = api;
  const nobodyThere = `http://127.0.0.1:${await freePort()}`;
  downApi = withToken(
    createApp({
      ...options,
      prometheus: new PrometheusClient({ url: nobodyThere, timeoutMs: 1_000 }),
    }),
    await tokenFor(store, 'viewer'),
  );
  noPrometheusApi = withToken(createApp(options), await tokenFor(store, 'viewer'));

  shop = await store.applications.create(
    input('shop', {
      machines: [{ id: 'm1', host: server.host, port: server.port, version: 'v1' }],
    }),
  );
  // Labelled app, version and instance as relguard labels them: those are what the queries select.
  await prometheus.addTargets('shop', targetGroups(shop));
  bare = await store.applications.create(input('bare'));
  broken = await store.applications.create(
    input('broken', {
      machines: [{ id: 'm1', host: server.host, port: server.port, version: 'v1' }],
      red_metrics_config: { ...red, rate: 'sum(rate(' },
    }),
  );
  const deployment = (version: string) => ({
    app_name: 'shop',
    app_id: shop.id,
    status: 'rolled_back' as const,
    package_version: version,
    gray_machine_id: 'm1',
    platform: 'local' as const,
    previous_version: 'v1',
    node_deployments: [],
  });
  released = await store.deployments.create(deployment('v2'));
  unreported = await store.deployments.create(deployment('v3'));

  load = runLoad({ targets: [server.url], rps: 30, signal: stopLoad.signal });
  await pollUntil(
    async () =>
      ((await prometheus.query('sum(rate(http_requests_total{app="shop"}[5s]))')) ?? 0) > 0
        ? true
        : undefined,
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}, 120_000);

afterAll(async () => {
  stopLoad.abort();
  await load;
  await server?.close();
  await Promise.all([prometheus?.stop(), testStore?.close()]);
});

interface Series {
  labels: Record<string, string>;
  timestamps: number[];
  values: (number | null)[];
}

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

describe('GET /api/v1/whoami', () => {
  it('names the token and its role, for any role, and is 401 without one', async () => {
    expect(await json(await viewer.request('/api/v1/whoami'))).toEqual({
      name: 'vera',
      role: 'viewer',
    });
    const admin = withToken(
      createApp({
        store: testStore.store,
        temporal: { check: () => Promise.resolve(true) },
        releases: releasesNotUsedHere,
        logger: createLogger('api', 'silent'),
      }),
      await tokenFor(testStore.store, 'admin', 'ada'),
    );
    expect(await json(await admin.request('/api/v1/whoami'))).toEqual({
      name: 'ada',
      role: 'admin',
    });
    expect((await anonymous.request('/api/v1/whoami')).status).toBe(401);
    const wrong = await anonymous.request('/api/v1/whoami', {
      headers: { authorization: 'Bearer rg_not-a-token' },
    });
    expect(wrong.status).toBe(401);
  });
});

interface MetricsBody {
  app_id: string;
  from: number;
  to: number;
  step_seconds: number;
  versions: string[];
  metrics: {
    metric: string;
    unit: string;
    queries: { version: string; promql: string }[];
    series: Series[];
  }[];
}

describe('GET /api/v1/applications/:id/metrics', () => {
  it("returns the application's rate, errors and latency per version from Prometheus", async () => {
    const before = Date.now();
    const body = await json<MetricsBody>(
      await viewer.request(`/api/v1/applications/${shop.id}/metrics?minutes=5`),
    );
    expect(body.app_id).toBe(shop.id);
    expect(body.to - body.from).toBe(5 * 60_000);
    expect(body.to).toBeGreaterThanOrEqual(before);
    expect(body.step_seconds).toBe(2);
    expect(body.metrics.map((metric) => [metric.metric, metric.unit])).toEqual([
      ['rate', 'req/s'],
      ['errors', 'req/s'],
      ['latency', 's'],
    ]);
    const [rate, errors, latency] = body.metrics;
    // What m1 runs, then the versions of the window's deployments (v3, v2, newest first).
    expect(body.versions).toEqual(['v1', 'v3', 'v2']);
    expect(rate?.queries[0]).toEqual({
      version: 'v1',
      promql: 'sum(rate(http_requests_total{app="shop",version="v1",instance=~"m1"}[5s]))',
    });
    expect(rate?.queries.map((query) => query.version)).toEqual(['v1', 'v3', 'v2']);
    // v2 and v3 never served: no series, not zeros.
    expect(rate?.series).toHaveLength(1);
    const served = rate!.series[0]!;
    expect(served.labels).toEqual({ version: 'v1' });
    expect(served.timestamps).toHaveLength(served.values.length);
    expect(served.timestamps.every((time) => time >= body.from && time <= body.to)).toBe(true);
    expect(Math.max(...served.values.map((value) => value ?? 0))).toBeGreaterThan(1);
    // No 5xx has happened: Prometheus has no series for the errors query, and the chart has
    // zeros where v1 served traffic.
    expect(errors?.series).toHaveLength(1);
    const noErrors = errors!.series[0]!;
    expect(noErrors.labels).toEqual({ version: 'v1' });
    expect(noErrors.values.length).toBeGreaterThan(0);
    expect(noErrors.values.every((value) => value === 0)).toBe(true);
    expect(noErrors.timestamps).toEqual(
      served.timestamps.filter((_time, index) => served.values[index] !== null),
    );
    expect(latency?.series[0]?.values.some((value) => value !== null && value > 0)).toBe(true);
  });

  it('has empty series for an application without machines, and takes 60 minutes by default', async () => {
    const body = await json<MetricsBody>(
      await viewer.request(`/api/v1/applications/${bare.id}/metrics`),
    );
    expect(body.to - body.from).toBe(60 * 60_000);
    expect(body.step_seconds).toBe(15);
    for (const metric of body.metrics) expect(metric).toMatchObject({ queries: [], series: [] });
  });

  it('is 422 naming the query Prometheus refuses, 404 for an unknown application, 400 for bad minutes', async () => {
    const refused = await json<{ error: { message: string; details: { promql: string } } }>(
      await viewer.request(`/api/v1/applications/${broken.id}/metrics`),
      422,
    );
    expect(refused.error.message).toMatch(
      /^Prometheus refused the rate query of broken \(red_metrics_config\): bad_data: /,
    );
    expect(refused.error.details.promql).toBe('sum(rate(');
    expect((await viewer.request('/api/v1/applications/nope/metrics')).status).toBe(404);
    for (const minutes of ['0', '1441', 'x']) {
      const response = await viewer.request(
        `/api/v1/applications/${shop.id}/metrics?minutes=${minutes}`,
      );
      expect(response.status, minutes).toBe(400);
    }
  });

  it('is 503 naming Prometheus when it is down or not configured, and 401 without a token', async () => {
    const down = await json<{ error: { code: string; message: string } }>(
      await downApi.request(`/api/v1/applications/${shop.id}/metrics`),
      503,
    );
    expect(down.error.code).toBe('unavailable');
    expect(down.error.message).toMatch(
      /^Prometheus at http:\/\/127\.0\.0\.1:\d+ is unavailable: network: cannot reach/,
    );
    const none = await json<{ error: { message: string } }>(
      await noPrometheusApi.request(`/api/v1/applications/${shop.id}/metrics`),
      503,
    );
    expect(none.error.message).toBe('this api has no Prometheus configured');
    expect((await anonymous.request(`/api/v1/applications/${shop.id}/metrics`)).status).toBe(401);
  });
});

interface GuardBody {
  deployment_id: string;
  items: { at: number; verdict: string; results: { rule: string; value?: number }[] }[];
}

describe('GET /api/v1/deployments/:id/guard', () => {
  it("returns the guard's evaluations of the release, oldest first", async () => {
    const base = {
      deployment_id: released.id,
      app: 'shop',
      version: 'v2',
      baseline_version: 'v1',
      instances: ['m1'],
    };
    const result = (value: number, verdict: 'pass' | 'fail') => ({
      rule: 'p99 latency above 1s',
      metric: 'latency_p99',
      promql: 'histogram_quantile(0.99, x)',
      value,
      operator: '>',
      threshold: 1,
      verdict,
      message: `p99 latency above 1s: p99 latency ${value}`,
    });
    await testStore.store.guardEvaluations.record({
      ...base,
      at: 2_000,
      verdict: 'fail',
      results: [result(Infinity, 'fail')],
    });
    await testStore.store.guardEvaluations.record({
      ...base,
      at: 1_000,
      verdict: 'pass',
      results: [result(0.2, 'pass')],
    });

    const body = await json<GuardBody>(
      await viewer.request(`/api/v1/deployments/${released.id}/guard`),
    );
    expect(body.deployment_id).toBe(released.id);
    expect(body.items.map((item) => [item.at, item.verdict])).toEqual([
      [1_000, 'pass'],
      [2_000, 'fail'],
    ]);
    expect(body.items[0]?.results[0]).toEqual({ ...result(0.2, 'pass') });
    // Neither FerretDB nor JSON takes +Inf: the value is left out, the message keeps it.
    expect(body.items[1]?.results[0]).not.toHaveProperty('value');
    expect(body.items[1]?.results[0]).toMatchObject({
      message: 'p99 latency above 1s: p99 latency Infinity',
    });

    const newest = await json<GuardBody>(
      await viewer.request(`/api/v1/deployments/${released.id}/guard?limit=1`),
    );
    expect(newest.items.map((item) => item.at)).toEqual([2_000]);
  });

  it('is empty before the guard has run, 404 for an unknown deployment, 401 without a token', async () => {
    expect(
      await json<GuardBody>(await viewer.request(`/api/v1/deployments/${unreported.id}/guard`)),
    ).toEqual({ deployment_id: unreported.id, items: [] });
    expect((await viewer.request('/api/v1/deployments/nope/guard')).status).toBe(404);
    expect((await viewer.request(`/api/v1/deployments/${released.id}/guard?limit=0`)).status).toBe(
      400,
    );
    expect((await anonymous.request(`/api/v1/deployments/${released.id}/guard`)).status).toBe(401);
  });
});

interface SeriesBody {
  deployment_id: string;
  from: number;
  to: number;
  step_seconds: number;
  release_window: { from: number; to: number };
  items: { name: string; promql: string; series: Series[]; error?: string }[];
}

describe('GET /api/v1/deployments/:id/analysis/series', () => {
  it('evaluates each anomalous metric of the report over its windows', async () => {
    const to = Date.now();
    await testStore.store.analysisReports.save(
      sampleReport({
        deployment_id: released.id,
        app_id: shop.id,
        anomalous_metrics: [
          {
            name: 'request rate of v1',
            promql: 'sum(rate(http_requests_total{app="shop",version="v1"}[5s]))',
            observation: 'it serves',
          },
          { name: 'unparsable', promql: 'sum(rate(', observation: 'an LLM typo' },
          {
            name: 'nothing there',
            promql: 'sum(rate(http_requests_total{app="no-such-app"}[5s]))',
            observation: 'no series',
          },
        ],
        window: { from: to - 120_000, to },
        baseline_window: { from: to - 240_000, to: to - 120_000 },
      }),
    );
    const body = await json<SeriesBody>(
      await viewer.request(`/api/v1/deployments/${released.id}/analysis/series`),
    );
    // From 10 minutes before the release's start through its end (the report's, here).
    expect(body).toMatchObject({
      deployment_id: released.id,
      release_window: { from: released.createdTime },
    });
    expect(body.from).toBeLessThanOrEqual(released.createdTime - 600_000);
    expect(body.to).toBeGreaterThanOrEqual(to);
    expect(body.step_seconds).toBeGreaterThanOrEqual(1);
    expect(body.step_seconds).toBeLessThanOrEqual(2);
    const [served, unparsable, nothing] = body.items;
    expect(served?.name).toBe('request rate of v1');
    expect(served?.error).toBeUndefined();
    expect(served?.series).toHaveLength(1);
    expect(served?.series[0]?.values.some((value) => value !== null && value > 0)).toBe(true);
    expect(unparsable).toMatchObject({ name: 'unparsable', promql: 'sum(rate(', series: [] });
    expect(unparsable?.error).toMatch(/^bad_data: /);
    expect(nothing).toEqual({
      name: 'nothing there',
      promql: 'sum(rate(http_requests_total{app="no-such-app"}[5s]))',
      chart_promql: 'sum(rate(http_requests_total{app="no-such-app"}[5s]))',
      unpinned: [],
      series: [],
    });
  });

  it('is 404 until the report exists, 503 when Prometheus is down, 401 without a token', async () => {
    const missing = await json<{ error: { details: { workflow_id: string } } }>(
      await viewer.request(`/api/v1/deployments/${unreported.id}/analysis/series`),
      404,
    );
    expect(missing.error.details.workflow_id).toBe(`analysis-${unreported.id}`);
    expect((await viewer.request('/api/v1/deployments/nope/analysis/series')).status).toBe(404);
    const down = await json<{ error: { message: string } }>(
      await downApi.request(`/api/v1/deployments/${released.id}/analysis/series`),
      503,
    );
    expect(down.error.message).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+ is unavailable/);
    expect(
      (await anonymous.request(`/api/v1/deployments/${released.id}/analysis/series`)).status,
    ).toBe(401);
  });
});
