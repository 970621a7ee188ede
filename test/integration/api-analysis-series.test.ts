import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorsByRoute, querySpan } from '../../activities/analyzer/heuristic-queries';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { createApp } from '../../api/app';
import { ApplicationInput, type Deployment, type ReleaseEvent } from '../../domain';
import type { ReleaseMarker } from '../../domain/release-timeline';
import { pollUntil } from '../mockserver/helpers';
import { sampleReport } from '../support/analysis-report';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { releasesNotUsedHere } from '../support/releases';
import { startTogether } from '../support/start-together';

/**
 * The report's charts show the onset: a service scraped by a real Prometheus answers without
 * errors, then (its release's gray machine deployed) with errors until the rollback; the
 * report's pinned queries, charted through the api, are low before the release and high after
 * the breach, with the release's markers in order and the pinned queries returned as written.
 */
let prometheus: TestPrometheus;
let testStore: TestStore;
let service: Server;
let viewer: TestApi;
let deployment: Deployment;
const moments: Record<string, number> = {};

/** The service's errors: none until `badFrom`, ten a second from then until `badTo`. */
const errorsWindow: { badFrom?: number; badTo?: number } = {};
const startedAt = Date.now();

function metricsText(now: number): string {
  const ok = Math.floor((now - startedAt) / 50); // 20 a second
  const { badFrom, badTo } = errorsWindow;
  const errors =
    badFrom === undefined ? 0 : Math.floor((Math.min(now, badTo ?? now) - badFrom) / 100);
  return [
    '# TYPE http_requests_total counter',
    `http_requests_total{route="/api/pay",status="200"} ${ok}`,
    `http_requests_total{route="/api/pay",status="500"} ${Math.max(0, errors)}`,
    '',
  ].join('\n');
}

const errorsSelector = 'http_requests_total{app="onset",status="500"}';

/** The last time (epoch ms) Prometheus scraped the service. */
async function lastScrape(): Promise<number> {
  return ((await prometheus.query(`timestamp(${errorsSelector})`)) ?? 0) * 1000;
}

/** Until Prometheus has a sample of the service at least `seconds` after `since`. */
async function scrapedAfter(since: number, seconds: number): Promise<void> {
  await pollUntil(async () => ((await lastScrape()) >= since + seconds * 1000 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
  });
}

interface SeriesBody {
  deployment_id: string;
  from: number;
  to: number;
  step_seconds: number;
  baseline_window: { from: number; to: number };
  release_window: { from: number; to: number };
  markers: ReleaseMarker[];
  items: {
    name: string;
    promql: string;
    chart_promql: string;
    unpinned: string[];
    unpin_error?: string;
    series: { labels: Record<string, string>; timestamps: number[]; values: (number | null)[] }[];
    error?: string;
  }[];
}

beforeAll(async () => {
  service = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(metricsText(Date.now()));
  });
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  const { port } = service.address() as AddressInfo;
  [prometheus, testStore] = await startTogether([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startTestStore(),
  ]);
  await prometheus.addTargets('onset', [
    {
      targets: [`127.0.0.1:${port}`],
      labels: { app: 'onset', version: 'v1.0.0', instance: 'm1' },
    },
  ]);
  const { store } = testStore;
  const api = createApp({
    store,
    temporal: { check: () => Promise.resolve(true) },
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
    prometheus: new PrometheusClient({ url: prometheus.url, timeoutMs: 5_000 }),
  });
  viewer = withToken(api, await tokenFor(store, 'viewer', 'vera'));

  // Before the release: several scrapes of a service without errors.
  await pollUntil(
    async () =>
      ((await prometheus.query(`count_over_time(${errorsSelector}[1m])`)) ?? 0) >= 6 || undefined,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  moments.start = Date.now();
  await scrapedAfter(moments.start, 2);
  // The gray machine is deployed and the new version fails; the guard sees it a little later.
  moments.gray = Date.now();
  errorsWindow.badFrom = moments.gray;
  await pollUntil(
    async () => ((await prometheus.query(`increase(${errorsSelector}[3s])`)) ?? 0) > 0 || undefined,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  moments.breach = Date.now();
  await scrapedAfter(moments.breach, 4);
  moments.rollbackBegun = Date.now();
  errorsWindow.badTo = moments.rollbackBegun;
  await scrapedAfter(moments.rollbackBegun, 1);
  moments.rollbackDone = Date.now();

  const app = await store.applications.create(
    ApplicationInput.parse({
      name: 'onset',
      deploy_path: '/srv/onset',
      start_cmd: 'node main.js',
      machines: [{ id: 'm1', host: '127.0.0.1', port }],
    }),
  );
  const machine = { kind: 'machine' as const, machine_id: 'm1', batch: 0 };
  const timeline: ReleaseEvent[] = [
    { at: moments.start, kind: 'status', status: 'deploying' },
    { ...machine, at: moments.start + 1, status: 'deploying', version: 'v1.1.0' },
    { ...machine, at: moments.gray, status: 'deployed', version: 'v1.1.0' },
    { at: moments.rollbackBegun, kind: 'status', status: 'rolling_back' },
    { ...machine, at: moments.rollbackBegun, status: 'rolling_back', version: 'v1.0.0' },
    { ...machine, at: moments.rollbackDone, status: 'rolled_back', version: 'v1.0.0' },
    { at: moments.rollbackDone, kind: 'status', status: 'rolled_back', reason: 'error ratio' },
  ];
  deployment = await store.deployments.create(
    {
      app_name: app.name,
      app_id: app.id,
      status: 'rolled_back',
      package_version: 'v1.1.0',
      gray_machine_id: 'm1',
      platform: 'local',
      previous_version: 'v1.0.0',
      node_deployments: [
        {
          machine_id: 'm1',
          batch: 0,
          status: 'rolled_back',
          version: 'v1.0.0',
          started_at: moments.start + 1,
          finished_at: moments.rollbackDone,
        },
      ],
      reason: 'error ratio',
      rollback: {
        reason: 'metric guard: error ratio 0.33 > 0.05',
        requested_by: 'metric-guard',
        requested_at: moments.rollbackBegun,
        detected_at: moments.breach,
        first_breach_at: moments.breach,
      },
      timeline,
    },
    moments.start,
  );
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await testStore?.close();
  await new Promise((resolve) => service?.close(resolve));
});

/** The report's queries as analyzers write them: pinned to the end of the release window. */
function pinnedQueries() {
  const window = { from: moments.start!, to: moments.rollbackDone! };
  const span = querySpan(window);
  const ratio =
    `sum(rate(${errorsSelector}[3s] @ ${span.end})) / ` +
    `sum(rate(http_requests_total{app="onset"}[3s] @ ${span.end}))`;
  const heuristic = errorsByRoute({ matchers: 'app="onset"', span });
  return { window, ratio, heuristic, end: span.end };
}

describe('GET /api/v1/deployments/:id/analysis/series (the onset)', () => {
  it('charts the pinned queries unpinned: low before the release, high after the breach', async () => {
    const { window, ratio, heuristic, end } = pinnedQueries();
    await testStore.store.analysisReports.save(
      sampleReport({
        deployment_id: deployment.id,
        app_id: deployment.app_id,
        app_name: 'onset',
        anomalous_metrics: [
          { name: 'error ratio', promql: ratio, observation: 'a third of the requests fail' },
          { name: '5xx by route', promql: heuristic, observation: '/api/pay answers 500' },
          { name: 'unparsable', promql: 'sum(rate(', observation: 'an LLM typo' },
        ],
        window,
        baseline_window: { from: 2 * window.from - window.to, to: window.from },
      }),
    );
    const response = await viewer.request(`/api/v1/deployments/${deployment.id}/analysis/series`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as SeriesBody;

    // The windows: at least 10 minutes before the release's start, through the rollback.
    expect(body.baseline_window.to).toBe(moments.start);
    expect(body.release_window.from).toBe(moments.start);
    expect(body.baseline_window.from).toBeLessThanOrEqual(moments.start! - 10 * 60_000);
    expect(body.release_window.to).toBeGreaterThanOrEqual(moments.rollbackDone!);
    expect([body.from, body.to]).toEqual([body.baseline_window.from, body.release_window.to]);
    expect(body.step_seconds).toBe(1);

    // The markers of the deployment, in order.
    const kinds = body.markers.map((marker) => marker.kind);
    expect(kinds).toEqual(['start', 'gray_deployed', 'breach', 'rollback_begun', 'rollback_done']);
    const at = Object.fromEntries(body.markers.map((marker) => [marker.kind, marker.at]));
    expect(at).toEqual({
      start: moments.start,
      gray_deployed: moments.gray,
      breach: moments.breach,
      rollback_begun: moments.rollbackBegun,
      rollback_done: moments.rollbackDone,
    });

    const [ratioItem, heuristicItem, unparsable] = body.items;
    // The pinned queries come back as written; the charted ones have no pin left.
    expect(ratioItem).toMatchObject({
      name: 'error ratio',
      promql: ratio,
      chart_promql: ratio.split(` @ ${end}`).join(''),
      unpinned: [`@ ${end}`, `@ ${end}`],
    });
    expect(heuristicItem?.promql).toBe(heuristic);
    expect(heuristicItem?.chart_promql).not.toContain('@');
    for (const item of [ratioItem, heuristicItem]) {
      expect(item?.error).toBeUndefined();
      expect(item?.unpin_error).toBeUndefined();
      const values = (from: number, to: number) =>
        item!.series.flatMap((one) =>
          one.values.filter(
            (value, index): value is number =>
              value !== null && one.timestamps[index]! >= from && one.timestamps[index]! < to,
          ),
        );
      const before = values(body.from, moments.start!);
      const afterBreach = values(moments.breach!, moments.rollbackBegun!);
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(afterBreach.length).toBeGreaterThanOrEqual(3);
      // The onset: nothing failed before the release; after the breach, requests failed.
      expect(Math.max(...before)).toBe(0);
      expect(Math.min(...afterBreach)).toBeGreaterThan(0);
    }

    // An unreadable query is charted as written, and the answer says why.
    expect(unparsable).toMatchObject({
      promql: 'sum(rate(',
      chart_promql: 'sum(rate(',
      unpinned: [],
    });
    expect(unparsable?.unpin_error).toMatch(/^the query does not parse as PromQL/);
    expect(unparsable?.error).toMatch(/^bad_data: /);
  });

  it('needs the unpinning: the pinned query over the same range is one flat value', async () => {
    const { ratio } = pinnedQueries();
    const series = await new PrometheusClient({ url: prometheus.url, timeoutMs: 5_000 }).rangeQuery(
      ratio,
      { start: moments.start! - 5_000, end: moments.rollbackDone!, stepSeconds: 1 },
    );
    const values = series.flatMap((one) => one.samples.map((sample) => sample.value));
    expect(values.length).toBeGreaterThan(3);
    expect(new Set(values).size).toBe(1);
  });
});
