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
import { buildConsole } from '../../web/build';
import { tokenFor } from '../support/api-token';
import { launchChromium, openConsolePage, saveScreenshot } from '../support/browser';
import { freePort } from '../support/free-port';
import { releasesNotUsedHere } from '../support/releases';
import { recordOnsetRelease, type OnsetRelease } from '../support/report-onset';
import { startTogether } from '../support/start-together';

/**
 * The report's charts on the release page, in Debian's chromium, over the real api, storage and
 * Prometheus: a release whose errors began with its gray machine and ended with its rollback
 * (test/support/report-onset.ts). Each anomalous metric is drawn unpinned, lower before the
 * release than after the breach, with the release's markers and the baseline band, its chart
 * query and the report's pinned query beside it; a link to `#metric-2` lands on that chart.
 */
let onset: OnsetRelease;
let browser: Browser;
let server: ServerType;
let workDir: string;
let apiUrl: string;
let token: string;

/** A release that has ended, as the api shows it without a workflow. */
const releases: Releases = new Proxy(releasesNotUsedHere, {
  get(target, method, receiver) {
    if (method === 'progress') return () => Promise.resolve(undefined);
    if (method === 'workflowUrl') return (id: string) => `http://127.0.0.1:8233/${id}`;
    return Reflect.get(target, method, receiver) as unknown;
  },
});

const number = async (chart: Locator, name: string): Promise<number> =>
  Number((await chart.getAttribute(`data-${name}`)) ?? Number.NaN);

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-onset-console-'));
  const consoleDir = path.join(workDir, 'console');
  [onset, browser] = await startTogether([
    recordOnsetRelease(),
    launchChromium(),
    buildConsole(consoleDir),
  ]);
  const api = createApp({
    store: onset.testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'error'),
    prometheus: new PrometheusClient({ url: onset.prometheus.url, timeoutMs: 5_000 }),
    consoleDir,
  });
  const port = await freePort();
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: api.fetch, hostname: '127.0.0.1', port }, () =>
      resolve(started),
    );
  });
  apiUrl = `http://127.0.0.1:${port}`;
  token = await tokenFor(onset.testStore.store, 'viewer');
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) =>
    server === undefined ? resolve(undefined) : server.close(resolve),
  );
  await browser?.close();
  await onset?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

describe('the report charts on the release page', () => {
  it('show the onset: lower before the release than after the breach, with markers', async () => {
    const opened = await openConsolePage(browser, { token });
    const { page, problems } = opened;
    const { deployment, moments, metrics } = onset;
    await page.goto(`${apiUrl}/console/releases/${deployment.id}#metric-2`);
    const report = page.locator('section[data-testid=analysis-report]');
    await report.waitFor();

    for (const [index, metric] of metrics.entries()) {
      const anchor = `metric-${index + 1}`;
      const shown = report.locator(`[data-testid=anomalous-metric][id="${anchor}"]`);
      const chart = shown.locator(`[data-testid=metric-chart][data-anchor="${anchor}"]`);
      // Drawn once the series are in: the figure says what it drew.
      await chart.locator('canvas').first().waitFor();
      await chart.and(page.locator('[data-before-count]')).waitFor();
      expect(await number(chart, 'release-start')).toBe(moments.start);
      expect(await number(chart, 'breach-at')).toBe(moments.breach);
      expect(await number(chart, 'before-count')).toBeGreaterThanOrEqual(3);
      expect(await number(chart, 'after-breach-count')).toBeGreaterThanOrEqual(3);
      expect(await number(chart, 'before-max')).toBeLessThan(
        await number(chart, 'after-breach-max'),
      );
      // Every value while the bad version served was above every value before the release.
      expect(await number(chart, 'before-max')).toBeLessThan(
        await number(chart, 'after-breach-min'),
      );
      // The release's moments on the chart, and the baseline shaded.
      const kinds: string[] = [];
      const markers = chart.locator('[data-testid=chart-marker]');
      for (let at = 0; at < (await markers.count()); at++) {
        kinds.push((await markers.nth(at).getAttribute('data-kind')) ?? '');
      }
      expect(kinds).toEqual([
        'start',
        'gray_deployed',
        'breach',
        'rollback_begun',
        'rollback_done',
      ]);
      expect(await chart.locator('[data-testid=chart-band][data-kind=baseline]').count()).toBe(1);
      // The query drawn has no pin; the report's, which gives its number, is there as written.
      const charted = (await shown.locator('code[data-testid=chart-promql]').textContent()) ?? '';
      expect(charted).not.toContain('@');
      expect(charted).toContain('http_requests_total{app="onset"');
      expect(await shown.locator('code[data-testid=promql]').textContent()).toBe(metric.promql);
      expect(await shown.locator('button[data-testid=copy-promql]').count()).toBe(1);
      expect(await shown.locator('button[data-testid=copy-chart-promql]').count()).toBe(1);
    }
    // The link to the second chart lands on it.
    const second = report.locator('[id="metric-2"]');
    await expect
      .poll(async () => {
        const box = await second.boundingBox();
        // Scrolled down to it (the page may end before it reaches the top).
        const scrolled = await page.evaluate<number>('scrollY');
        return box !== null && box.y >= -1 && box.y < 1000 - 100 && scrolled > 0;
      })
      .toBe(true);
    // Close up on the release: its start moves from the right edge to the middle.
    const startMarker = report
      .locator('[data-testid=metric-chart][data-anchor="metric-1"] [data-testid=chart-marker]')
      .and(page.locator('[data-kind=start]'));
    const left = async () => {
      const style = (await startMarker.getAttribute('style')) ?? '';
      return Number(/left:\s*([\d.]+)px/.exec(style)?.[1] ?? Number.NaN);
    };
    const wide = await left();
    await report.locator('input[data-testid=close-up]').check();
    await expect.poll(left).toBeLessThan(wide * 0.7);
    await saveScreenshot(page, 'report-onset');
    expect(problems).toEqual([]);
    await opened.close();
  }, 120_000);
});
