import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { createApp } from '../../api/app';
import { ApplicationInput, type Application, type Deployment } from '../../domain';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import {
  driveKiosks,
  kioskTrafficCharted,
  seedKioskHistory,
  startKiosk,
  type Kiosk,
} from '../support/kiosk-service';
import { startTestStore, type TestStore } from '../support/mongo';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { releasesNotUsedHere } from '../support/releases';
import { startTogether } from '../support/start-together';

/**
 * Issue 22, part 2: an application's charts keep every version that served in the window. A
 * service written for this test (kiosk: its own metric names, 5xx counted by `code`, the errors
 * template grouped by code and the rate not), scraped by a real Prometheus, with the history of
 * a rolled-back release written to a real FerretDB: the gray machine k1 served 2.0.0 and
 * answered 5xx; k2 and k3 serve 1.9.0 without a single 5xx, and are what the machines run now.
 * A later release of 2.1.0 was cancelled before any machine ran it.
 */
let prometheus: TestPrometheus;
let testStore: TestStore;
let kiosks: Kiosk[];
let viewer: TestApi;
let kiosk: Application;
let history: Application;
let rolledBack: Deployment;
let cancelled: Deployment;
const stopLoad = new AbortController();
let load: Promise<void> | undefined;

interface Series {
  labels: Record<string, string>;
  timestamps: number[];
  values: (number | null)[];
}

interface MetricsBody {
  by: string;
  from: number;
  to: number;
  versions: string[];
  versions_left_out: string[];
  notes: string[];
  metrics: {
    metric: string;
    queries: { version: string; machine?: string; promql: string }[];
    series: Series[];
  }[];
  events: {
    at: number;
    kind: string;
    label: string;
    deployment_id: string;
    version: string;
    href: string;
  }[];
}

async function metricsOf(app: Application, query: string): Promise<MetricsBody> {
  const response = await viewer.request(`/api/v1/applications/${app.id}/metrics?${query}`);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as MetricsBody;
}

const seriesOf = (body: MetricsBody, metric: string) =>
  body.metrics.find((entry) => entry.metric === metric)?.series ?? [];
const defined = (series: Series) => series.values.filter((value) => value !== null);
const servedTimes = (series: Series) =>
  series.timestamps.filter((_time, index) => series.values[index] !== null);

beforeAll(async () => {
  [prometheus, testStore, ...kiosks] = await startTogether([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startTestStore(),
    startKiosk({ failEvery: 3 }),
    startKiosk(),
    startKiosk(),
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

  ({ app: kiosk, rolledBack, cancelled } = await seedKioskHistory(store, prometheus, kiosks));
  const now = Date.now();
  const base = { gray_machine_id: 'h1', platform: 'local' as const };

  // An application with a long history in the last hour, and the default templates.
  history = await store.applications.create(
    ApplicationInput.parse({
      name: 'kiosk-history',
      deploy_path: '/srv/kiosk-history',
      start_cmd: 'node kiosk.js',
      machines: [{ id: 'h1', host: '127.0.0.1', port: 9, version: '3.10.0' }],
    }),
  );
  for (let minor = 1; minor <= 10; minor++) {
    await store.deployments.create(
      {
        ...base,
        app_name: 'kiosk-history',
        app_id: history.id,
        status: 'succeeded',
        package_version: `3.${minor}.0`,
        previous_version: `3.${minor - 1}.0`,
        node_deployments: [],
      },
      now - (20 - minor) * 60_000,
    );
  }

  load = driveKiosks(
    kiosks.map((service) => service.url),
    20,
    stopLoad.signal,
  );
  await kioskTrafficCharted(prometheus);
}, 150_000);

afterAll(async () => {
  stopLoad.abort();
  await load;
  await Promise.all((kiosks ?? []).map((service) => service.close()));
  await Promise.all([prometheus?.stop(), testStore?.close()]);
});

describe('GET /api/v1/applications/:id/metrics after a rolled-back release', () => {
  it('charts every version that served in the window, the rolled-back one too', async () => {
    const body = await metricsOf(kiosk, 'minutes=5');
    expect(body.by).toBe('version');
    // What the machines run, then the window's deployments newest first; 1.8.0 is older.
    expect(body.versions).toEqual(['1.9.0', '2.1.0', '2.0.0']);
    expect(body.versions_left_out).toEqual([]);
    expect(body.notes).toEqual([]);
    const rate = seriesOf(body, 'rate');
    expect(
      rate.map((series) => series.labels).sort((a, b) => a.version!.localeCompare(b.version!)),
    ).toEqual([{ version: '1.9.0' }, { version: '2.0.0' }]);
    for (const series of rate) expect(Math.max(...defined(series))).toBeGreaterThan(1);
    // 2.1.0 never served: no series at all, in any chart (that is no data, not zero).
    for (const metric of ['rate', 'errors', 'latency']) {
      expect(seriesOf(body, metric).some((series) => series.labels.version === '2.1.0')).toBe(
        false,
      );
    }
  });

  it("draws the rolled-back version's 5xx above zero and the healthy version's as zeros", async () => {
    const body = await metricsOf(kiosk, 'minutes=5');
    const rate = seriesOf(body, 'rate');
    const errors = seriesOf(body, 'errors');
    const rateOf = (version: string) => rate.find((series) => series.labels.version === version)!;

    // The healthy version answered no 5xx: Prometheus has no errors series for it, and the
    // chart has one of zeros at every time it served traffic.
    const healthy = errors.filter((series) => series.labels.version === '1.9.0');
    expect(healthy.map((series) => series.labels)).toEqual([{ version: '1.9.0' }]);
    expect(healthy[0]!.values.length).toBeGreaterThan(3);
    expect(healthy[0]!.values.every((value) => value === 0)).toBe(true);
    expect(healthy[0]!.timestamps).toEqual(servedTimes(rateOf('1.9.0')));

    // The rolled-back version's errors, per code as its template groups them, are above zero,
    // and 0 (not a gap) where it served and that code did not happen.
    const bad = errors.filter((series) => series.labels.version === '2.0.0');
    expect(bad.map((series) => series.labels.code).sort()).toEqual(['500', '503']);
    for (const series of bad) {
      expect(Math.max(...defined(series))).toBeGreaterThan(0);
      expect(series.values.every((value) => value !== null && value >= 0)).toBe(true);
      for (const time of servedTimes(rateOf('2.0.0'))) expect(series.timestamps).toContain(time);
    }
  });

  it("lists the window's release events oldest first, each linking to its release", async () => {
    const body = await metricsOf(kiosk, 'minutes=60');
    expect(body.events.map((event) => [event.kind, event.deployment_id])).toEqual([
      ['start', rolledBack.id],
      ['gray_deployed', rolledBack.id],
      ['batch', rolledBack.id],
      ['breach', rolledBack.id],
      ['rollback_begun', rolledBack.id],
      ['rollback_done', rolledBack.id],
      ['start', cancelled.id],
      ['cancelled', cancelled.id],
    ]);
    const times = body.events.map((event) => event.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(body.events[0]?.at).toBe(rolledBack.createdTime);
    expect(body.events[3]?.at).toBe(rolledBack.rollback?.first_breach_at);
    for (const event of body.events) {
      expect(event.href).toBe(`/releases/${event.deployment_id}`);
      expect(event.version).toBe(event.deployment_id === rolledBack.id ? '2.0.0' : '2.1.0');
      expect(event.label).not.toBe('');
    }
    // A window that ends before a release began has none of its events.
    const short = await metricsOf(kiosk, 'minutes=1');
    expect(short.events).toEqual([]);
  });

  it('gives one series per version and machine with by=machine', async () => {
    const body = await metricsOf(kiosk, 'minutes=5&by=machine');
    expect(body.by).toBe('machine');
    const rateMetric = body.metrics.find((entry) => entry.metric === 'rate')!;
    // Each of the three versions once per machine, {{instances}} being that one machine.
    expect(rateMetric.queries).toHaveLength(9);
    expect(
      rateMetric.queries.find((q) => q.version === '2.0.0' && q.machine === 'k1')?.promql,
    ).toBe('sum(rate(kiosk_answers_total{app="kiosk",version="2.0.0",instance=~"k1"}[5s]))');
    const key = (series: Series) => `${series.labels.version}@${series.labels.machine}`;
    expect(seriesOf(body, 'rate').map(key).sort()).toEqual(['1.9.0@k2', '1.9.0@k3', '2.0.0@k1']);
    const errors = seriesOf(body, 'errors');
    for (const machine of ['k2', 'k3']) {
      const zeros = errors.filter((series) => key(series) === `1.9.0@${machine}`);
      expect(zeros).toHaveLength(1);
      expect(zeros[0]!.values.length).toBeGreaterThan(0);
      expect(zeros[0]!.values.every((value) => value === 0)).toBe(true);
    }
    const gray = errors.filter((series) => key(series) === '2.0.0@k1');
    expect(gray.map((series) => series.labels.code).sort()).toEqual(['500', '503']);
    expect(gray.some((series) => defined(series).some((value) => value > 0))).toBe(true);
    expect(
      errors.every((series) => ['1.9.0@k2', '1.9.0@k3', '2.0.0@k1'].includes(key(series))),
    ).toBe(true);
  });

  it('charts the 8 newest versions of a long history and says which were left out', async () => {
    const body = await metricsOf(history, 'minutes=60');
    expect(body.versions).toEqual([
      '3.10.0',
      '3.9.0',
      '3.8.0',
      '3.7.0',
      '3.6.0',
      '3.5.0',
      '3.4.0',
      '3.3.0',
    ]);
    expect(body.versions_left_out).toEqual(['3.2.0', '3.1.0', '3.0.0']);
    expect(body.notes.join('\n')).toContain('3.2.0, 3.1.0, 3.0.0');
    expect(body.metrics.find((entry) => entry.metric === 'rate')?.queries).toHaveLength(8);
  });

  it('says when a template cannot be split per machine (no {{instances}}), and charts it per version', async () => {
    const body = await metricsOf(history, 'minutes=60&by=machine');
    for (const metric of ['rate', 'errors', 'latency']) {
      expect(body.notes).toContain(
        `the ${metric} template has no {{instances}}: it cannot select one machine, so it is charted per version`,
      );
      const queries = body.metrics.find((entry) => entry.metric === metric)!.queries;
      expect(queries.every((query) => query.machine === undefined)).toBe(true);
    }
  });

  it('refuses an unknown by with 400', async () => {
    const response = await viewer.request(`/api/v1/applications/${kiosk.id}/metrics?by=host`);
    expect(response.status).toBe(400);
  });
});
