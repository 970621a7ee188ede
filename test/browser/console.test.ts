import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { culpritNumber, demoVersions, type DeploymentView } from '../../demo/story';
import type {
  AnalysisReport,
  Application,
  Deployment,
  DeploymentStatus,
  PackageRecord,
} from '../../domain';
import { runLoad } from '../../mockserver/load-generator';
import { buildConsole } from '../../web/build';
import { progressQuery } from '../../workflows/release/messages';
import { tokenFor } from '../support/api-token';
import {
  launchChromium,
  openConsolePage,
  saveElementScreenshot,
  saveScreenshot,
  type ConsolePage,
} from '../support/browser';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { startTogether } from '../support/start-together';

/**
 * The console in Debian's chromium against the real stack: a Temporal dev server, MongoDB
 * storage, the api serving a console built from web/, a worker, a Prometheus scraping every
 * second and mockserver machines under load. `shop` has released v0.9.0 and v1.0.0; v1.1.0
 * carries pull request #103, whose faults fail every payment: the metric guard rolls it back
 * while the page watches, and the heuristic analysis names #103. `cart` (no guard, a bake of
 * 15 minutes) is paused, resumed and cancelled from the page.
 *
 * The tests run in order and share the stack: the list and the application page show what the
 * rollback test left. Screenshots go to .relguard/screenshots/ (not committed).
 */
/** shop's repository is "on GitHub", so the report links its pull requests; see beforeAll. */
const shopRepoUrl = 'https://github.com/acme/shop.git';
const ruleName = 'error rate above 10%';
const submit = 'button[type=submit], input[type=submit]';

let stack: ReleaseStack;
let prometheus: TestPrometheus;
let browser: Browser;
let workDir: string;
let shop: Application;
let cart: Application;
let viewerToken: string;
/** shop's alert channel: a webhook that answers 500 to every alert, so each delivery fails. */
let pager: http.Server;
let pagerCalls = 0;
let deployerToken: string;
/** The release the metric guard rolled back (set by its test, read by the later ones). */
let rolledBack: DeploymentView | undefined;
const pages: ConsolePage[] = [];
const load = new AbortController();
let loadDone: Promise<unknown> | undefined;
const gitEnvNames = ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0'] as const;

async function api<T>(method: string, url: string, body?: unknown) {
  const response = await stack.app.request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function deployment(id: string): Promise<DeploymentView> {
  const { status, body } = await api<DeploymentView>('GET', `/api/v1/deployments/${id}`);
  expect(status).toBe(200);
  return body;
}

async function waitForStatus(id: string, wanted: DeploymentStatus[], seconds = 180) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const current = await deployment(id);
    if (wanted.includes(current.status)) return current;
    if (Date.now() > deadline) {
      throw new Error(`deployment ${id} is ${current.status}, not ${wanted.join('|')}`);
    }
    await delay(250);
  }
}

async function startRelease(app: Application, version: string): Promise<string> {
  const started = await api<DeploymentView>('POST', '/api/v1/deployments', {
    app_id: app.id,
    package_version: version,
  });
  expect(started.status).toBe(202);
  return started.body.id;
}

async function releaseAndWait(app: Application, version: string): Promise<void> {
  const done = await waitForStatus(await startRelease(app, version), [
    'succeeded',
    'failed',
    'rolled_back',
    'cancelled',
  ]);
  expect(done.status, `${app.name} ${version}: ${done.reason ?? ''}`).toBe('succeeded');
}

async function open(token?: string, permissions?: string[]): Promise<ConsolePage> {
  const opened = await openConsolePage(browser, {
    ...(token === undefined ? {} : { token }),
    ...(permissions === undefined ? {} : { permissions }),
  });
  pages.push(opened);
  return opened;
}

/** The text of the one element `locator` finds, trimmed. */
async function text(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').trim();
}

/** Waits until `locator`'s text is `wanted`, polling; the page is never reloaded for it. */
async function waitForText(locator: Locator, wanted: string, timeout = 30_000): Promise<void> {
  await expect.poll(() => text(locator), { timeout, interval: 200 }).toBe(wanted);
}

/**
 * Records, inside the page, every status the release page shows, and marks the window: the
 * mark survives only if the page is never reloaded.
 */
const watchStatuses = `(() => {
  window.__relguardMark = 'not reloaded';
  window.__relguardStatuses = [];
  const record = () => {
    if (!location.pathname.startsWith('/console/releases/')) return;
    const shown = document.querySelector('[data-testid=release-status]')?.textContent?.trim();
    const seen = window.__relguardStatuses;
    if (shown && seen[seen.length - 1] !== shown) seen.push(shown);
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true });
})()`;

/** What the chart component says it drew (`data-series` of its figure). */
function drawnLines(
  attribute: string | null,
): { label: string; count: number; min: number | null; max: number | null }[] {
  return JSON.parse(attribute ?? '[]') as {
    label: string;
    count: number;
    min: number | null;
    max: number | null;
  }[];
}

/** The values of `names` (joined by a space) of each element `selector` finds in `scope`. */
async function attributesOf(scope: Locator, selector: string, ...names: string[]) {
  const found = await scope.locator(selector).all();
  return await Promise.all(
    found.map(async (element) =>
      (await Promise.all(names.map(async (name) => (await element.getAttribute(name)) ?? ''))).join(
        ' ',
      ),
    ),
  );
}

/** The kinds of the release markers drawn inside `scope`. */
async function markerKinds(scope: Locator): Promise<string[]> {
  return await attributesOf(scope, '[data-testid=chart-marker]', 'data-kind');
}

interface ReportSeries {
  markers: { kind: string; at: number }[];
  items: {
    name: string;
    series: { timestamps: number[]; values: (number | null)[] }[];
  }[];
}

/** The highest value of a series among its samples whose time passes `when`. */
function peak(
  series: ReportSeries['items'][number]['series'][number],
  when: (at: number) => boolean,
): number | undefined {
  const values = series.values.filter(
    (value, index): value is number => value !== null && when(series.timestamps[index] ?? 0),
  );
  return values.length === 0 ? undefined : Math.max(...values);
}

async function progressOf(release: DeploymentView) {
  return await stack.temporal.client.workflow.getHandle(release.workflow_id).query(progressQuery);
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-console-'));
  const consoleDir = path.join(workDir, 'console');
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
  let repo: string;
  [stack, repo, browser] = await startTogether([
    startReleaseStack({
      prometheusUrl: prometheus.url,
      targetsDir: prometheus.targetsDir,
      consoleDir,
    }),
    // v0.9.0 first, so that after v1.0.0 shop has a previous version to show.
    createDemoRepo([{ tag: 'v0.9.0' }, ...demoVersions], path.join(workDir, 'repos')),
    launchChromium(),
    buildConsole(consoleDir),
  ]);
  // git (the package builds and the change reader, in this process's worker) fetches the
  // GitHub address from the local repository: the report then links pull requests as it
  // does for a repository on GitHub, and nothing leaves the machine. Set only once Temporal
  // has started: a variable added while its server is being spawned can fail that spawn.
  process.env.GIT_CONFIG_COUNT = '1';
  process.env.GIT_CONFIG_KEY_0 = `url.${repo}.insteadOf`;
  process.env.GIT_CONFIG_VALUE_0 = shopRepoUrl;

  viewerToken = await tokenFor(stack.testStore.store, 'viewer');
  deployerToken = await tokenFor(stack.testStore.store, 'deployer');

  pager = http.createServer((request, response) => {
    request.resume();
    pagerCalls++;
    response.writeHead(500, { 'content-type': 'text/plain' }).end('pager is down');
  });
  await new Promise<void>((resolve) => pager.listen(0, '127.0.0.1', resolve));
  const pagerUrl = `http://127.0.0.1:${(pager.address() as AddressInfo).port}/alerts`;
  const channel = await api('PUT', '/api/v1/channels/pager', { type: 'webhook', url: pagerUrl });
  expect(channel.status).toBe(200);

  const rateWindow = '[5s]';
  const machinePorts = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
  await mkdir(path.join(workDir, 'shop'), { recursive: true });
  await mkdir(path.join(workDir, 'cart'), { recursive: true });
  const createdShop = await api<Application>('POST', '/api/v1/applications', {
    name: 'shop',
    repo: shopRepoUrl,
    deploy_path: path.join(workDir, 'shop'),
    start_cmd: 'node main.js',
    machines: machinePorts.slice(0, 4).map((port, i) => ({
      id: `m${i + 1}`,
      host: '127.0.0.1',
      port,
    })),
    pacer: { batch_size: 1, gray_bake_seconds: 8, interval_seconds: 1 },
    rollback_policy: {
      interval_seconds: 2,
      consecutive_breaches: 2,
      rules: [{ name: ruleName, metric: 'error_rate', threshold: 0.1, min_request_rate: 1 }],
      notify: ['pager'],
    },
    red_metrics_config: {
      rate: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}${rateWindow}))`,
      errors: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",status=~"5.."}${rateWindow}))`,
      duration: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}${rateWindow})))`,
    },
  });
  expect(createdShop.status).toBe(201);
  shop = createdShop.body;
  // cart's machines run nothing yet: the health watcher says so (unknown), and an
  // Alertmanager alert makes one of them alerting, states a list must tell apart.
  const createdCart = await api<Application>('POST', '/api/v1/applications', {
    name: 'cart',
    repo: shopRepoUrl,
    deploy_path: path.join(workDir, 'cart'),
    start_cmd: 'node main.js',
    machines: [
      { id: 'c1', host: '127.0.0.1', port: machinePorts[4] },
      { id: 'c2', host: '127.0.0.1', port: machinePorts[5] },
    ],
    health: { interval_seconds: 1, failures_before_error: 2 },
    pacer: { batch_size: 1, gray_bake_seconds: 900, interval_seconds: 1 },
    rollback_policy: { enabled: false },
  });
  expect(createdCart.status).toBe(201);
  cart = createdCart.body;
  const fired = await api('POST', '/api/v1/webhooks/alertmanager', {
    version: '4',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'CartCheckoutSlow', app: 'cart', instance: 'c2' },
        startsAt: new Date().toISOString(),
        fingerprint: 'cart-c2',
      },
    ],
  });
  expect(fired.status).toBe(202);
  for (let i = 0; ; i++) {
    const { body } = await api<Application>('GET', `/api/v1/applications/${cart.id}`);
    if (body.alert_count === 1) break;
    if (i > 300) throw new Error(`cart's c2 is not alerting: ${JSON.stringify(body.machines)}`);
    await delay(100);
  }

  loadDone = runLoad({
    targets: shop.machines.map((machine) => `http://${machine.host}:${machine.port}`),
    rps: 60,
    signal: load.signal,
    timeoutMs: 2000,
  });
  // v1.1.0 is built while the first two versions are released, for the start form to offer.
  const build = await api('POST', '/api/v1/packages', { app_id: shop.id, version: 'v1.1.0' });
  expect(build.status).toBe(202);
  await releaseAndWait(shop, 'v0.9.0');
  await releaseAndWait(shop, 'v1.0.0');
  for (let i = 0; ; i++) {
    const { body } = await api<{ items: PackageRecord[] }>(
      'GET',
      `/api/v1/applications/${shop.id}/packages`,
    );
    if (body.items.some((item) => item.version === 'v1.1.0')) break;
    if (i > 240) throw new Error('the package of v1.1.0 was not built in 2 minutes');
    await delay(500);
  }
  // A long bake for the release the page watches: the guard ends it well before.
  const updated = await api('PUT', `/api/v1/applications/${shop.id}`, {
    pacer: { batch_size: 1, gray_bake_seconds: 90, interval_seconds: 1 },
  });
  expect(updated.status).toBe(200);
}, 480_000);

afterAll(async () => {
  for (const opened of pages) await opened.close().catch(() => undefined);
  await browser?.close();
  load.abort();
  await loadDone?.catch(() => undefined);
  await stack?.stopMachines();
  await stack?.stop();
  await prometheus?.stop();
  pager?.closeAllConnections();
  await new Promise((resolve) => (pager === undefined ? resolve(undefined) : pager.close(resolve)));
  for (const name of gitEnvNames) delete process.env[name];
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

describe('the console in a browser', () => {
  it('asks for a token, refuses a wrong one and signs in with a right one', async () => {
    const { page, problems } = await open();
    // The api's root sends a person to the console.
    await page.goto(`${stack.apiUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/console/');

    const form = page.locator('form[data-testid=sign-in]');
    await form.waitFor();
    await form.locator('input[name=token]').fill('rg_this-is-not-a-token');
    await form.locator(submit).first().click();
    await page.locator('[data-testid=error]').waitFor();
    expect(await page.locator('table[data-testid=applications]').count()).toBe(0);

    await form.locator('input[name=token]').fill(viewerToken);
    await form.locator(submit).first().click();
    await page.locator('tr[data-testid=application-row][data-app="shop"]').waitFor();
    expect(await page.locator('form[data-testid=sign-in]').count()).toBe(0);
    expect(await page.evaluate("localStorage.getItem('relguard.token')")).toBe(viewerToken);
    expect(problems).toEqual([]);
  });

  it('shows a release live as the metric guard rolls it back, then its evidence and report', async () => {
    const { page, problems } = await open(deployerToken, ['clipboard-read', 'clipboard-write']);
    await page.goto(`${stack.apiUrl}/console/apps/${shop.id}`);
    // A deployer starts v1.1.0 from the application page, on m1.
    const form = page.locator('form[data-testid=start-release]');
    await form.waitFor();
    await form.locator('select[name=package_version]').selectOption('v1.1.0');
    await form.locator('select[name=gray_machine_id]').selectOption('m1');
    await page.evaluate(watchStatuses);
    await form.locator(submit).first().click();
    await page.waitForURL(/\/console\/releases\/[^/]+$/);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    const started = await deployment(id);
    expect(started).toMatchObject({ app_id: shop.id, package_version: 'v1.1.0' });
    expect(started.gray_machine_id).toBe('m1');

    const status = page.locator('[data-testid=release-status]');
    await waitForText(status, 'rolled_back', 240_000);
    rolledBack = await deployment(id);
    expect(rolledBack.status).toBe('rolled_back');
    expect(rolledBack.rollback?.requested_by).toBe('metric-guard');
    // Shown live: the page moved through the release's phases on its own, never reloaded.
    const seen = await page.evaluate<string[]>('window.__relguardStatuses');
    expect(seen.at(-1)).toBe('rolled_back');
    const running = seen.findIndex((shown) => shown === 'deploying' || shown === 'verifying');
    expect(running, `statuses shown: ${seen.join(' → ')}`).toBeGreaterThanOrEqual(0);
    expect(running).toBeLessThan(seen.indexOf('rolled_back'));
    expect(await page.evaluate('window.__relguardMark')).toBe('not reloaded');
    expect(await text(page.locator('[data-testid=release-phase]'))).not.toBe('');

    // Every machine as the deployment has it: the gray one rolled back, in batch 0.
    for (const node of rolledBack.node_deployments) {
      const shown = page.locator(
        `[data-testid=batch][data-batch="${node.batch}"] [data-testid=node][data-machine="${node.machine_id}"]`,
      );
      expect(await shown.getAttribute('data-status'), node.machine_id).toBe(node.status);
    }
    expect(rolledBack.node_deployments.find((node) => node.machine_id === 'm1')?.status).toBe(
      'rolled_back',
    );

    const evidence = page.locator('[data-testid=rollback-evidence]');
    await evidence.waitFor();
    expect(await text(evidence)).toContain(ruleName);
    expect(await text(evidence)).toContain('metric-guard');
    const guardChart = page.locator(`[data-testid=guard-chart][data-rule="${ruleName}"]`);
    await guardChart.locator('canvas').first().waitFor();
    expect(await page.locator('a[data-testid=temporal-link]').getAttribute('href')).toBe(
      rolledBack.workflow_url,
    );
    // Over: no action applies any more.
    expect(await page.locator('button[data-action]').count()).toBe(0);

    // The analysis report comes a little later, on the same page.
    const reportSection = page.locator('section[data-testid=analysis-report]');
    await reportSection.waitFor({ timeout: 180_000 });
    const { status: reportStatus, body: report } = await api<AnalysisReport>(
      'GET',
      `/api/v1/deployments/${id}/analysis`,
    );
    expect(reportStatus).toBe(200);
    expect(await text(reportSection.locator('[data-testid=analysis-summary]'))).toContain(
      report.summary.trim(),
    );
    const metrics = reportSection.locator('[data-testid=anomalous-metric]');
    expect(report.anomalous_metrics.length).toBeGreaterThan(0);
    expect(await metrics.count()).toBe(report.anomalous_metrics.length);
    for (const [index, metric] of report.anomalous_metrics.entries()) {
      const shown = metrics.nth(index);
      expect(await text(shown.locator('code[data-testid=promql]'))).toBe(metric.promql);
      expect(metric.promql).toContain('app="shop"');
      expect(await shown.locator('[data-testid=metric-chart]').count()).toBe(1);
    }
    // The copy button puts the query on the clipboard.
    await metrics.first().locator('button[data-testid=copy-promql]').click();
    await expect
      .poll(() => page.evaluate('navigator.clipboard.readText()'))
      .toBe(report.anomalous_metrics[0]?.promql);

    const suspects = reportSection.locator('[data-testid=suspect-pr]');
    expect(await suspects.count()).toBe(report.suspect_changes.length);
    expect(report.suspect_changes[0]?.number).toBe(culpritNumber);
    expect(await text(suspects.first())).toContain(`#${culpritNumber}`);
    expect(await text(suspects.first())).toContain('Payments: call the new gateway directly');
    expect(await suspects.first().locator('a').first().getAttribute('href')).toBe(
      `https://github.com/acme/shop/pull/${culpritNumber}`,
    );
    const remediation = await text(reportSection.locator('[data-testid=remediation]'));
    expect(remediation).toContain(report.remediation[0] ?? 'a remediation');
    expect(await page.locator('[data-testid=analysis-pending]').count()).toBe(0);

    // The report's charts show the onset: the unpinned query from before the release through
    // the rollback, lower before the release started than after the breach.
    const { body: charted } = await api<ReportSeries>(
      'GET',
      `/api/v1/deployments/${id}/analysis/series`,
    );
    const startAt = charted.markers.find((marker) => marker.kind === 'start')?.at;
    const breachAt = charted.markers.find((marker) => marker.kind === 'breach')?.at;
    expect(startAt, 'the release start is marked').toBeDefined();
    expect(breachAt, 'the breach is marked').toBeDefined();
    const onsets = charted.items.flatMap((metric) =>
      metric.series.map((series) => ({
        name: metric.name,
        before: peak(series, (at) => at < startAt!),
        after: peak(series, (at) => at >= breachAt!),
      })),
    );
    expect(
      onsets.some((onset) => onset.after !== undefined),
      JSON.stringify(onsets),
    ).toBe(true);
    for (const onset of onsets.filter((each) => each.after !== undefined)) {
      // No sample before the start is the bad version serving nothing yet: below any value.
      expect(onset.before ?? -Infinity, onset.name).toBeLessThan(onset.after!);
    }
    const reportChart = metrics.first().locator('[data-testid=metric-chart]');
    await reportChart.locator('canvas').first().waitFor();
    // What the page drew: values from the breach on, and before the release either nothing
    // (a query of the new version, which did not exist yet) or lower values. The pinned query
    // drew one value across the whole window.
    await expect.poll(() => reportChart.getAttribute('data-after-breach-count')).not.toBeNull();
    const drawn = async (name: string) => Number(await reportChart.getAttribute(`data-${name}`));
    expect(await drawn('after-breach-count')).toBeGreaterThan(0);
    if ((await drawn('before-count')) > 0) {
      expect(await drawn('before-max')).toBeLessThan(await drawn('after-breach-min'));
    }
    const reportMarkers = await markerKinds(reportChart);
    expect(reportMarkers).toEqual(expect.arrayContaining(['start', 'gray_deployed', 'breach']));
    expect(await text(metrics.first().locator('code[data-testid=chart-promql]'))).not.toMatch(
      /@\s*\d/,
    );

    // The release page is a timeline: the gray machine's deploy and bake, then the rollback,
    // m1's lane going to v1.1.0 and back, the guard's failing evaluations and the breach.
    const timeline = page.locator('[data-testid=release-timeline]');
    const phases = await attributesOf(timeline, '[data-testid=timeline-phase]', 'data-kind');
    expect(phases).toEqual(expect.arrayContaining(['gray', 'gray_bake', 'rollback']));
    expect(phases.indexOf('gray')).toBeLessThan(phases.indexOf('rollback'));
    expect(await markerKinds(timeline)).toEqual(
      expect.arrayContaining([
        'start',
        'gray_deployed',
        'breach',
        'rollback_begun',
        'rollback_done',
      ]),
    );
    const m1Lane = await attributesOf(
      timeline,
      '[data-testid=machine-lane][data-machine="m1"] [data-testid=lane-segment]',
      'data-state',
      'data-version',
    );
    expect(m1Lane).toContain('new v1.1.0');
    expect(m1Lane.at(-1)).toBe('rolled_back v1.0.0');
    const verdicts = await attributesOf(timeline, '[data-testid=evaluation-mark]', 'data-verdict');
    expect(verdicts).toContain('fail');

    // shop's only channel refuses every alert: the page says so, naming the channel and why.
    const failedAlert = page.locator(
      '[data-testid=alert-failed][data-kind="rolled_back"][data-channel="pager"]',
    );
    await failedAlert.waitFor({ timeout: 180_000 });
    expect(await text(failedAlert)).toContain('500');
    const delivered = await deployment(id);
    const pagerDeliveries = (delivered.alert_deliveries ?? []).filter(
      (delivery) => delivery.kind === 'rolled_back' && delivery.channel === 'pager',
    );
    expect(pagerDeliveries.at(-1)?.status).toBe('failed');
    expect(pagerDeliveries.length).toBeGreaterThan(1);
    expect(pagerCalls).toBeGreaterThanOrEqual(pagerDeliveries.length);

    // The pictures of docs/console.md come from here.
    await saveElementScreenshot(timeline, 'release-timeline');
    // The report as a person reads a 12 s release: closed up on it.
    await reportSection.locator('input[data-testid=close-up]').check();
    await saveElementScreenshot(reportSection, 'report');
    await saveScreenshot(page, 'release');
    expect(problems).toEqual([]);
  }, 480_000);

  it('lists the applications with their versions, machine counts and last release', async () => {
    expect(rolledBack?.status, 'the rollback test ran first').toBe('rolled_back');
    const { page, problems } = await open(viewerToken);
    await page.goto(`${stack.apiUrl}/console/`);
    await page.locator('table[data-testid=applications]').waitFor();

    // What the api says, so the values below are the system's, not only the test's.
    const { body } = await api<{ items: Application[] }>('GET', '/api/v1/applications');
    const byName = new Map(body.items.map((app) => [app.name, app]));
    expect(byName.get('shop')).toMatchObject({
      currentVersion: 'v1.0.0',
      prev_version: 'v0.9.0',
      health_count: 4,
      error_count: 0,
      alert_count: 0,
    });
    expect(byName.get('cart')).toMatchObject({ health_count: 0, error_count: 0, alert_count: 1 });

    const shopRow = page.locator('tr[data-testid=application-row][data-app="shop"]');
    await waitForText(shopRow.locator('[data-testid=current-version]'), 'v1.0.0');
    expect(await text(shopRow.locator('[data-testid=prev-version]'))).toBe('v0.9.0');
    expect(await text(shopRow.locator('[data-testid=machines-healthy]'))).toBe('4');
    expect(await text(shopRow.locator('[data-testid=machines-error]'))).toBe('0');
    expect(await text(shopRow.locator('[data-testid=machines-alert]'))).toBe('0');
    expect(await text(shopRow.locator('[data-testid=last-release]'))).toBe('rolled_back');
    expect(await shopRow.locator('a[data-testid=application-link]').getAttribute('href')).toMatch(
      new RegExp(`/console/apps/${shop.id}$`),
    );

    const cartRow = page.locator('tr[data-testid=application-row][data-app="cart"]');
    expect(await text(cartRow.locator('[data-testid=current-version]'))).not.toMatch(/v\d/);
    expect(await text(cartRow.locator('[data-testid=machines-healthy]'))).toBe('0');
    expect(await text(cartRow.locator('[data-testid=machines-error]'))).toBe('0');
    expect(await text(cartRow.locator('[data-testid=machines-alert]'))).toBe('1');
    expect(await page.locator('tr[data-testid=application-row]').count()).toBe(2);

    await saveScreenshot(page, 'applications');
    expect(problems).toEqual([]);
  });

  it("shows an application's machines, policy, releases and RED charts", async () => {
    expect(rolledBack?.status, 'the rollback test ran first').toBe('rolled_back');
    const { page, problems } = await open(deployerToken);
    await page.goto(`${stack.apiUrl}/console/`);
    await page
      .locator('tr[data-testid=application-row][data-app="shop"] a[data-testid=application-link]')
      .click();
    await page.waitForURL(new RegExp(`/console/apps/${shop.id}$`));
    await waitForText(page.locator('[data-testid=application-name]'), 'shop');

    for (const machine of ['m1', 'm2', 'm3', 'm4']) {
      const row = page.locator(`tr[data-testid=machine-row][data-machine="${machine}"]`);
      expect(await text(row.locator('[data-testid=machine-version]')), machine).toBe('v1.0.0');
      expect(await text(row.locator('[data-testid=machine-status]')), machine).toBe('healthy');
    }
    expect(await text(page.locator('[data-testid=rollback-policy]'))).toContain(ruleName);
    expect(await text(page.locator('[data-testid=pacer]'))).not.toBe('');

    const { body } = await api<{ items: Deployment[] }>(
      'GET',
      `/api/v1/deployments?app_id=${shop.id}`,
    );
    expect(body.items.map((item) => item.status).sort()).toEqual([
      'rolled_back',
      'succeeded',
      'succeeded',
    ]);
    expect(await page.locator('tr[data-testid=release-row]').count()).toBe(3);
    for (const item of body.items) {
      const row = page.locator(`tr[data-testid=release-row][data-deployment="${item.id}"]`);
      expect(await text(row.locator('[data-testid=release-status]')), item.id).toBe(item.status);
      expect(await row.locator('a').first().getAttribute('href')).toMatch(
        new RegExp(`/console/releases/${item.id}$`),
      );
    }

    // The RED charts of the last hour: shop has served requests all along.
    for (const metric of ['rate', 'errors', 'latency']) {
      const chart = page.locator(`[data-testid=red-chart][data-metric="${metric}"]`);
      await chart.locator('canvas, [data-testid=no-data]').first().waitFor();
    }
    const rate = page.locator('[data-testid=red-chart][data-metric="rate"]');
    expect(await rate.locator('canvas').count()).toBeGreaterThan(0);
    expect(await rate.locator('[data-testid=no-data]').count()).toBe(0);
    // Every version that served in the hour keeps its series, the rolled-back one included:
    // v1.1.0's 5xx above zero; v1.0.0's drawn as zeros where it had traffic and no 5xx (its
    // deploys' restarts may cost it a few), never "no data", and below v1.1.0's.
    const errors = page.locator('[data-testid=red-chart][data-metric="errors"]');
    await errors.locator('canvas').first().waitFor();
    const errorLines = drawnLines(await errors.getAttribute('data-series'));
    expect(errorLines.map((line) => line.label)).toEqual(
      expect.arrayContaining(['v1.1.0', 'v1.0.0']),
    );
    const lineOf = (version: string) =>
      errorLines.find((line) => line.label.split(' ')[0] === version);
    const bad = lineOf('v1.1.0');
    const good = lineOf('v1.0.0');
    expect(bad?.max, JSON.stringify(errorLines)).toBeGreaterThan(0);
    expect(good?.count, JSON.stringify(errorLines)).toBeGreaterThan(0);
    expect(good?.min, JSON.stringify(errorLines)).toBe(0);
    expect(good?.max ?? Infinity, JSON.stringify(errorLines)).toBeLessThan(bad?.max ?? 0);
    const releaseMarkers = await markerKinds(errors);
    expect(releaseMarkers).toEqual(expect.arrayContaining(['breach', 'rollback_done']));

    const form = page.locator('form[data-testid=start-release]');
    await form.waitFor();
    const offered = await form.locator('select[name=package_version] option').allTextContents();
    expect(offered.join(' ')).toContain('v1.1.0');
    expect(offered.join(' ')).toContain('v0.9.0');

    await saveScreenshot(page, 'application');
    expect(problems).toEqual([]);
  });

  it('pauses and resumes the workflow from the page, then cancels it', async () => {
    const id = await startRelease(cart, 'v1.0.0');
    const release = await deployment(id);
    const { page, problems } = await open(deployerToken);
    await page.goto(`${stack.apiUrl}/console/releases/${id}`);
    const status = page.locator('[data-testid=release-status]');
    await waitForText(status, 'verifying', 120_000);
    expect((await progressOf(release)).paused).toBe(false);

    await page.locator('button[data-action="pause"]').click();
    await expect
      .poll(async () => (await progressOf(release)).paused, { timeout: 30_000 })
      .toBe(true);
    await waitForText(status, 'paused');
    expect(await page.locator('button[data-action="pause"]').count()).toBe(0);

    await page.locator('button[data-action="resume"]').click();
    await expect
      .poll(async () => (await progressOf(release)).paused, { timeout: 30_000 })
      .toBe(false);
    await waitForText(status, 'verifying');
    expect(await page.locator('button[data-action="resume"]').count()).toBe(0);

    // Cancel asks for a reason first.
    await page.locator('button[data-action="cancel"]').click();
    const confirm = page.locator('form[data-testid=confirm-action]');
    await confirm.locator('input[name=reason]').fill('done with the browser test');
    await confirm.locator('button[data-testid=confirm]').click();
    await waitForText(status, 'cancelled', 120_000);
    const ended = await deployment(id);
    expect(ended.status).toBe('cancelled');
    expect(ended.reason).toContain('done with the browser test');
    expect(ended.actions?.map((action) => [action.action, action.by])).toEqual([
      ['start', 'test-admin'],
      ['pause', 'test-deployer'],
      ['resume', 'test-deployer'],
      ['cancel', 'test-deployer'],
    ]);
    expect(problems).toEqual([]);
  }, 300_000);

  it('shows a viewer no action buttons and no start form, and a deployer both', async () => {
    const id = await startRelease(cart, 'v1.0.0');
    await waitForStatus(id, ['verifying'], 120);
    const viewer = await open(viewerToken);
    const deployer = await open(deployerToken);

    const releasePage = async (page: Page) => {
      await page.goto(`${stack.apiUrl}/console/releases/${id}`);
      await waitForText(page.locator('[data-testid=release-status]'), 'verifying');
      // Rendered with its data: a batch with the gray machine in it.
      await page
        .locator('[data-testid=batch][data-batch="0"] [data-testid=node]')
        .first()
        .waitFor();
    };
    await releasePage(deployer.page);
    for (const action of ['pause', 'rollback', 'cancel']) {
      expect(await deployer.page.locator(`button[data-action="${action}"]`).count(), action).toBe(
        1,
      );
    }
    for (const action of ['resume', 'approve']) {
      expect(await deployer.page.locator(`button[data-action="${action}"]`).count(), action).toBe(
        0,
      );
    }
    await releasePage(viewer.page);
    expect(await viewer.page.locator('button[data-action]').count()).toBe(0);

    const applicationPage = async (page: Page) => {
      await page.goto(`${stack.apiUrl}/console/apps/${cart.id}`);
      await waitForText(page.locator('[data-testid=application-name]'), 'cart');
      await page.locator('tr[data-testid=machine-row][data-machine="c1"]').waitFor();
    };
    await applicationPage(deployer.page);
    await deployer.page.locator('form[data-testid=start-release]').waitFor();
    await applicationPage(viewer.page);
    expect(await viewer.page.locator('form[data-testid=start-release]').count()).toBe(0);
    expect(await viewer.page.locator('button[data-action]').count()).toBe(0);

    const cancelled = await api('POST', `/api/v1/deployments/${id}/cancel`, {
      reason: 'end of the viewer test',
    });
    expect(cancelled.status).toBe(202);
    await waitForStatus(id, ['cancelled'], 120);
    expect([...viewer.problems, ...deployer.problems]).toEqual([]);
  }, 300_000);
});
