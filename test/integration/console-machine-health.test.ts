import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { createApp } from '../../api/app';
import { ApplicationInput, type Application, type MachineStatus } from '../../domain';
import { buildConsole } from '../../web/build';
import { tokenFor } from '../support/api-token';
import {
  launchChromium,
  openConsolePage,
  saveScreenshot,
  type ConsolePage,
} from '../support/browser';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';
import { startTogether } from '../support/start-together';

/**
 * Machine health in the console, in Debian's chromium: the api over real storage serves a
 * console built from web/, and the statuses and their history are written to the store as the
 * health watcher writes them. No Temporal, no machines: what is proven is what people see.
 */
let testStore: TestStore;
let browser: Browser;
let workDir: string;
let server: ServerType;
let apiUrl: string;
let viewerToken: string;
const pages: ConsolePage[] = [];
const now = Date.now();
const refused = 'GET /healthz failed 2 times in a row: connect ECONNREFUSED 127.0.0.1:5002';

/**
 * Five applications whose names sort otherwise than their health: zulu has a machine in
 * error, mike one alerting, kilo one relguard cannot tell about, alpha and bravo are healthy.
 */
const seeded: Record<string, Record<string, MachineStatus>> = {
  alpha: { a1: 'healthy', a2: 'healthy' },
  bravo: { b1: 'healthy' },
  kilo: { k1: 'healthy', k2: 'unknown' },
  mike: { m1: 'alert', m2: 'healthy' },
  zulu: { z1: 'healthy', z2: 'error', z3: 'healthy' },
};
const apps = new Map<string, Application>();

async function seed(): Promise<void> {
  const { applications, machineEvents } = testStore.store;
  let port = 5000;
  for (const [name, machines] of Object.entries(seeded)) {
    const app = await applications.create(
      ApplicationInput.parse({
        name,
        deploy_path: `/srv/${name}`,
        start_cmd: 'node main.js',
        machines: Object.keys(machines).map((id) => ({ id, host: '127.0.0.1', port: ++port })),
      }),
    );
    for (const [machineId, status] of Object.entries(machines)) {
      if (status === 'unknown') continue;
      await applications.updateMachine(app.id, machineId, {
        status,
        status_reason: status === 'healthy' ? 'health check passed' : `${machineId} is ${status}`,
        status_since: now - 10 * 60_000,
        version: 'v1.0.0',
      });
    }
    apps.set(name, await applications.get(app.id));
  }
  // zulu's z2 went down 3 minutes ago, after 10 minutes healthy; z1 has one change of its own.
  const zulu = apps.get('zulu')!;
  await applications.updateMachine(zulu.id, 'z2', {
    status: 'error',
    status_reason: refused,
    status_since: now - 3 * 60_000,
  });
  apps.set('zulu', await applications.get(zulu.id));
  const event = (machine_id: string, status: MachineStatus, reason: string, at: number) => ({
    app_id: zulu.id,
    machine_id,
    status,
    reason,
    version: 'v1.0.0',
    at,
  });
  await machineEvents.record([
    event('z1', 'healthy', 'health check passed', now - 10 * 60_000),
    event('z2', 'healthy', 'health check passed', now - 10 * 60_000 + 1000),
    event('z2', 'error', refused, now - 3 * 60_000),
  ]);
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-console-health-'));
  const consoleDir = path.join(workDir, 'console');
  [testStore, browser] = await startTogether([
    startTestStore(),
    launchChromium(),
    buildConsole(consoleDir),
  ]);
  await seed();
  viewerToken = await tokenFor(testStore.store, 'viewer');
  const app = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
    consoleDir,
    // The application page's RED charts: a Prometheus that has no data (charts say so).
    prometheus: { origin: 'http://prometheus.test', rangeQuery: () => Promise.resolve([]) },
  });
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () =>
      resolve(started),
    );
  });
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  for (const page of pages) await page.close().catch(() => undefined);
  await browser?.close();
  if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  await testStore?.close();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

async function open(): Promise<ConsolePage> {
  const opened = await openConsolePage(browser, { token: viewerToken });
  pages.push(opened);
  return opened;
}

async function text(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').trim();
}

/** The attribute of every element `locator` finds, in the page's order. */
async function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  return await Promise.all((await locator.all()).map((element) => element.getAttribute(name)));
}

describe('machine health in the console', () => {
  it('lists applications in trouble first: error, then alert, then unknown, then by name', async () => {
    const { page, problems } = await open();
    await page.goto(`${apiUrl}/console/`);
    const rows = page.locator('tr[data-testid=application-row]');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(5);
    const order = await attributes(rows, 'data-app');
    expect(order).toEqual(['zulu', 'mike', 'kilo', 'alpha', 'bravo']);

    const first = rows.first();
    expect(await first.getAttribute('data-health')).toBe('error');
    expect(await text(first.locator('[data-testid=machines-healthy]'))).toBe('2');
    expect(await text(first.locator('[data-testid=machines-error]'))).toBe('1');
    expect(await text(first.locator('[data-testid=machines-alert]'))).toBe('0');
    expect(await text(first.locator('[data-testid=machines-unknown]'))).toBe('0');
    const kilo = page.locator('tr[data-testid=application-row][data-app="kilo"]');
    expect(await kilo.getAttribute('data-health')).toBe('unknown');
    expect(await text(kilo.locator('[data-testid=machines-unknown]'))).toBe('1');
    expect(
      await page
        .locator('tr[data-testid=application-row][data-app="alpha"]')
        .getAttribute('data-health'),
    ).toBe('healthy');

    await saveScreenshot(page, 'applications-health');
    expect(problems).toEqual([]);
  });

  it("shows each machine's status, why and since when, and the machines' history", async () => {
    const zulu = apps.get('zulu')!;
    const { page, problems } = await open();
    await page.goto(`${apiUrl}/console/`);
    await page
      .locator('tr[data-testid=application-row][data-app="zulu"] a[data-testid=application-link]')
      .click();
    await page.waitForURL(new RegExp(`/console/apps/${zulu.id}$`));
    expect(await text(page.locator('[data-testid=machine-counts]'))).toBe(
      '3: 2 healthy, 1 error, 0 alert, 0 unknown',
    );

    const z2 = page.locator('tr[data-testid=machine-row][data-machine="z2"]');
    expect(await text(z2.locator('[data-testid=machine-status]'))).toBe('error');
    expect(await text(z2.locator('[data-testid=machine-reason]'))).toBe(refused);
    expect(await text(z2.locator('[data-testid=machine-since]'))).toBe('3 min ago');
    const z1 = page.locator('tr[data-testid=machine-row][data-machine="z1"]');
    expect(await text(z1.locator('[data-testid=machine-status]'))).toBe('healthy');
    expect(await text(z1.locator('[data-testid=machine-since]'))).toBe('10 min ago');

    const events = page.locator('[data-testid=machine-history] tr[data-testid=machine-event-row]');
    await expect.poll(() => events.count(), { timeout: 30_000 }).toBe(3);
    const newest = events.first();
    expect(await newest.getAttribute('data-machine')).toBe('z2');
    expect(await text(newest.locator('[data-testid=machine-event-status]'))).toBe('error');
    expect(await text(newest.locator('[data-testid=machine-event-reason]'))).toBe(refused);
    expect(await attributes(events, 'data-machine')).toEqual(['z2', 'z2', 'z1']);

    // One machine's history alone, from the api's own filter.
    await page.locator('[data-testid=machine-history-filter]').selectOption('z1');
    await expect.poll(() => events.count(), { timeout: 30_000 }).toBe(1);
    expect(await events.first().getAttribute('data-machine')).toBe('z1');

    await saveScreenshot(page, 'application-health');
    expect(problems).toEqual([]);
  });

  it('says so when no status change is recorded, and follows a new one without a reload', async () => {
    const bravo = apps.get('bravo')!;
    const { page, problems } = await open();
    await page.goto(`${apiUrl}/console/apps/${bravo.id}`);
    await page.locator('[data-testid=machine-history-empty]').waitFor();

    const at = Date.now();
    await testStore.store.applications.updateMachine(bravo.id, 'b1', {
      status: 'alert',
      status_reason: 'HighErrorRate firing',
      status_since: at,
    });
    await testStore.store.machineEvents.record([
      {
        app_id: bravo.id,
        machine_id: 'b1',
        status: 'alert',
        reason: 'HighErrorRate firing',
        version: 'v1.0.0',
        at,
      },
    ]);
    const event = page.locator('tr[data-testid=machine-event-row][data-machine="b1"]');
    await event.waitFor({ timeout: 15_000 });
    expect(await text(event.locator('[data-testid=machine-event-reason]'))).toBe(
      'HighErrorRate firing',
    );
    const b1 = page.locator('tr[data-testid=machine-row][data-machine="b1"]');
    await expect
      .poll(() => text(b1.locator('[data-testid=machine-status]')), { timeout: 15_000 })
      .toBe('alert');
    expect(problems).toEqual([]);
  });
});
