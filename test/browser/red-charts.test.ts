import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { createApp } from '../../api/app';
import type { Releases } from '../../api/releases';
import type { Application, Deployment } from '../../domain';
import { buildConsole } from '../../web/build';
import { tokenFor } from '../support/api-token';
import { launchChromium, openConsolePage, saveScreenshot } from '../support/browser';
import { freePort } from '../support/free-port';
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
 * The application page's RED charts in Debian's chromium, over the real api, FerretDB and a
 * real Prometheus scraping the kiosk service written for these tests, after a rolled-back
 * release (see seedKioskHistory): the rolled-back version's 5xx are drawn above zero, the
 * healthy version's as zeros, each release event is a marker linking to its release, and the
 * per-machine view draws a line per version and machine. A whole release on a real Temporal
 * is the console test's.
 */
let prometheus: TestPrometheus;
let testStore: TestStore;
let kiosks: Kiosk[];
let browser: Browser;
let server: ServerType;
let workDir: string;
let apiUrl: string;
let token: string;
let kiosk: Application;
let rolledBack: Deployment;
let cancelled: Deployment;
const stopLoad = new AbortController();
let load: Promise<void> | undefined;

/** Releases as the api shows them without a workflow: no live progress. */
const releases: Releases = new Proxy(releasesNotUsedHere, {
  get(target, method, receiver) {
    if (method === 'progress') return () => Promise.resolve(undefined);
    if (method === 'workflowUrl') return (id: string) => `http://127.0.0.1:8233/${id}`;
    return Reflect.get(target, method, receiver) as unknown;
  },
});

interface SeriesSummary {
  label: string;
  count: number;
  min: number | null;
  max: number | null;
}

async function drawn(chart: Locator): Promise<SeriesSummary[]> {
  return JSON.parse((await chart.getAttribute('data-series')) ?? '[]') as SeriesSummary[];
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-red-charts-'));
  const consoleDir = path.join(workDir, 'console');
  [prometheus, testStore, browser, ...kiosks] = await startTogether([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startTestStore(),
    launchChromium(),
    buildConsole(consoleDir).then(() => undefined),
    startKiosk({ failEvery: 3 }),
    startKiosk(),
    startKiosk(),
  ]).then(([p, s, b, _built, ...k]) => [p, s, b, ...k] as const);
  const api = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'error'),
    prometheus: new PrometheusClient({ url: prometheus.url, timeoutMs: 5_000 }),
    consoleDir,
  });
  const port = await freePort();
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: api.fetch, hostname: '127.0.0.1', port }, () =>
      resolve(started),
    );
  });
  apiUrl = `http://127.0.0.1:${port}`;
  token = await tokenFor(testStore.store, 'viewer');
  ({
    app: kiosk,
    rolledBack,
    cancelled,
  } = await seedKioskHistory(testStore.store, prometheus, kiosks));
  load = driveKiosks(
    kiosks.map((service) => service.url),
    20,
    stopLoad.signal,
  );
  await kioskTrafficCharted(prometheus);
}, 240_000);

afterAll(async () => {
  stopLoad.abort();
  await load;
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await Promise.all((kiosks ?? []).map((service) => service.close()));
  await Promise.all([prometheus?.stop(), testStore?.close()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the application page's RED charts after a rollback", () => {
  it("draws the rolled-back version's 5xx above zero, the healthy one's as zeros, and the release's markers", async () => {
    const opened = await openConsolePage(browser, { token });
    const { page, problems } = opened;
    try {
      await page.goto(`${apiUrl}/console/apps/${kiosk.id}`);
      const errors = page.locator('[data-testid=red-chart][data-metric=errors][data-by=version]');
      await errors.locator('canvas').first().waitFor();

      const lines = await drawn(errors);
      const bad = lines.filter((line) => line.label.startsWith('2.0.0'));
      expect(bad.map((line) => line.label).sort()).toEqual(['2.0.0 code=500', '2.0.0 code=503']);
      for (const line of bad) expect(line.max).toBeGreaterThan(0);
      const healthy = lines.filter((line) => line.label.startsWith('1.9.0'));
      expect(healthy).toHaveLength(1);
      expect(healthy[0]).toMatchObject({ label: '1.9.0', min: 0, max: 0 });
      expect(healthy[0]!.count).toBeGreaterThan(0);
      // The cancelled 2.1.0 never served: no line.
      expect(lines.some((line) => line.label.startsWith('2.1.0'))).toBe(false);
      const rate = await drawn(page.locator('[data-testid=red-chart][data-metric=rate]'));
      expect(rate.map((line) => line.label).sort()).toEqual(['1.9.0', '2.0.0']);

      // The release events of the last hour, on every chart, in order, linking to the release.
      const markers = errors.locator('[data-testid=chart-marker]');
      const kinds: string[] = [];
      const ats: number[] = [];
      for (let index = 0; index < (await markers.count()); index++) {
        kinds.push((await markers.nth(index).getAttribute('data-kind')) ?? '');
        ats.push(Number(await markers.nth(index).getAttribute('data-at')));
      }
      expect(kinds).toEqual([
        'start',
        'gray_deployed',
        'batch',
        'breach',
        'rollback_begun',
        'rollback_done',
        'start',
        'cancelled',
      ]);
      expect([...ats].sort((a, b) => a - b)).toEqual(ats);
      expect(ats[3]).toBe(rolledBack.rollback?.first_breach_at);
      const breach = errors.locator('[data-testid=chart-marker][data-kind=breach]');
      expect(await breach.getAttribute('href')).toBe(`/console/releases/${rolledBack.id}`);
      expect(
        await errors
          .locator('[data-testid=chart-marker][data-kind=cancelled]')
          .getAttribute('href'),
      ).toBe(`/console/releases/${cancelled.id}`);
      expect(await breach.isVisible()).toBe(true);
      await saveScreenshot(page, 'application-red-charts');

      // A marker opens its release.
      await breach.click();
      await page.waitForURL(`**/console/releases/${rolledBack.id}`);
      expect(problems).toEqual([]);
    } finally {
      await opened.close();
    }
  });

  it('draws a line per version and machine in the per-machine view', async () => {
    const opened = await openConsolePage(browser, { token });
    const { page, problems } = opened;
    try {
      await page.goto(`${apiUrl}/console/apps/${kiosk.id}`);
      await page
        .locator('[data-testid=red-chart][data-metric=rate][data-by=version] canvas')
        .first()
        .waitFor();
      await page.locator('input[data-testid=per-machine]').check();
      const rate = page.locator('[data-testid=red-chart][data-metric=rate][data-by=machine]');
      await rate.locator('canvas').first().waitFor();
      expect((await drawn(rate)).map((line) => line.label).sort()).toEqual([
        '1.9.0 k2',
        '1.9.0 k3',
        '2.0.0 k1',
      ]);
      const errors = await drawn(
        page.locator('[data-testid=red-chart][data-metric=errors][data-by=machine]'),
      );
      for (const machine of ['k2', 'k3']) {
        expect(errors.find((line) => line.label === `1.9.0 ${machine}`)).toMatchObject({
          min: 0,
          max: 0,
        });
      }
      expect(
        errors.filter((line) => line.label.startsWith('2.0.0 k1')).some((line) => line.max! > 0),
      ).toBe(true);
      await saveScreenshot(page, 'application-red-charts-per-machine');
      expect(problems).toEqual([]);
    } finally {
      await opened.close();
    }
  });
});
