import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { createApp } from '../../api/app';
import type { Releases } from '../../api/releases';
import {
  ApplicationInput,
  type Application,
  type GuardEvaluationRecord,
  type ReleaseEvent,
  type RuleResultRecord,
} from '../../domain';
import { buildConsole } from '../../web/build';
import { tokenFor } from '../support/api-token';
import { launchChromium, openConsolePage, saveScreenshot } from '../support/browser';
import { freePort } from '../support/free-port';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';
import { startTogether } from '../support/start-together';

/**
 * The release page's timeline in Debian's chromium, over the real api and storage, from
 * deployments recorded as the release activities record them (their timeline of steps and the
 * guard's evaluations): one rolled back by the metric guard, one still running that moves on
 * while the page watches. The whole release on a real Temporal is the console test's.
 */
let testStore: TestStore;
let browser: Browser;
let server: ServerType;
let workDir: string;
let apiUrl: string;
let token: string;
let app: Application;

/** A release ended or running, as the api shows it without a workflow: no live progress. */
const releases: Releases = new Proxy(releasesNotUsedHere, {
  get(target, method, receiver) {
    if (method === 'progress') return () => Promise.resolve(undefined);
    if (method === 'workflowUrl') return (id: string) => `http://127.0.0.1:8233/${id}`;
    return Reflect.get(target, method, receiver) as unknown;
  },
});

const layout: [string, number][] = [
  ['m1', 0],
  ['m2', 1],
  ['m3', 1],
];

const step = (at: number, status: ReleaseEvent['status'], machineId?: string): ReleaseEvent => {
  if (machineId === undefined) return { at, kind: 'status', status };
  const back = status === 'rolling_back' || status === 'rolled_back';
  return {
    at,
    kind: 'machine',
    status,
    machine_id: machineId,
    batch: layout.find(([id]) => id === machineId)![1],
    version: back ? 'v1.0.0' : 'v1.1.0',
  };
};

function rule(name: string, value: number, verdict: RuleResultRecord['verdict']): RuleResultRecord {
  return {
    rule: name,
    metric: name === 'target_down' ? 'target' : 'error_rate',
    promql: name === 'target_down' ? 'count(up == 0)' : 'sum(rate(errors[30s]))',
    value,
    operator: '>',
    threshold: name === 'target_down' ? 0 : 0.1,
    verdict,
    message: `${name} ${value}: ${verdict}`,
  };
}

function evaluation(
  deploymentId: string,
  at: number,
  errorRate: RuleResultRecord,
  down?: RuleResultRecord,
): GuardEvaluationRecord {
  const results = down === undefined ? [errorRate] : [errorRate, down];
  const order = ['fail', 'error', 'no_data', 'pass'] as const;
  const verdict = order.find((candidate) => results.some((r) => r.verdict === candidate))!;
  return {
    deployment_id: deploymentId,
    at,
    app: app.name,
    version: 'v1.1.0',
    baseline_version: 'v1.0.0',
    instances: ['m1'],
    verdict,
    results,
  };
}

async function open(page: Page, deploymentId: string): Promise<void> {
  await page.goto(`${apiUrl}/console/releases/${deploymentId}`);
  await page.locator('[data-testid=release-timeline]').waitFor();
}

/** The attribute `name` of every element `selector` finds, in order ('' when it has none). */
async function attributes(page: Page, selector: string, name: string): Promise<string[]> {
  const found = page.locator(selector);
  const values: string[] = [];
  for (let index = 0; index < (await found.count()); index++) {
    values.push((await found.nth(index).getAttribute(name)) ?? '');
  }
  return values;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-timeline-console-'));
  const consoleDir = path.join(workDir, 'console');
  [testStore, browser] = await startTogether([
    startTestStore(),
    launchChromium(),
    buildConsole(consoleDir),
  ]);
  const api = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'error'),
    consoleDir,
  });
  const port = await freePort();
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: api.fetch, hostname: '127.0.0.1', port }, () =>
      resolve(started),
    );
  });
  expect((server.address() as AddressInfo).port).toBe(port);
  apiUrl = `http://127.0.0.1:${port}`;
  token = await tokenFor(testStore.store, 'viewer');
  app = await testStore.store.applications.create(
    ApplicationInput.parse({
      name: 'shop',
      deploy_path: '/srv/shop',
      start_cmd: 'node main.js',
      machines: layout.map(([id], i) => ({ id, host: '127.0.0.1', port: 9100 + i })),
    }),
  );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await testStore?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the release page as a timeline', () => {
  it('shows the phases, each machine’s versions, the verdicts, the breach and the rollback', async () => {
    const base = Date.now() - 120_000;
    const reason = 'error rate above 10%: 0.42 > 0.1';
    const deployment = await testStore.store.deployments.create(
      {
        app_name: app.name,
        app_id: app.id,
        status: 'rolled_back',
        package_version: 'v1.1.0',
        gray_machine_id: 'm1',
        platform: 'local',
        previous_version: 'v1.0.0',
        reason,
        node_deployments: layout.map(([machine_id, batch]) => ({
          machine_id,
          batch,
          status: machine_id === 'm1' ? ('rolled_back' as const) : ('pending' as const),
          version: machine_id === 'm1' ? 'v1.0.0' : 'v1.1.0',
        })),
        rollback: {
          reason,
          requested_by: 'metric-guard',
          requested_at: base + 61_000,
          detected_at: base + 60_000,
          first_breach_at: base + 50_000,
          failing: [rule('error_rate', 0.42, 'fail')],
        },
        timeline: [
          step(base + 500, 'deploying'),
          step(base + 2_000, 'deploying', 'm1'),
          step(base + 10_000, 'deployed', 'm1'),
          step(base + 10_500, 'verifying'),
          step(base + 61_500, 'rolling_back'),
          step(base + 61_600, 'rolling_back', 'm1'),
          step(base + 70_000, 'rolled_back', 'm1'),
          step(base + 71_000, 'rolled_back'),
        ],
      },
      base,
    );
    for (let at = base + 15_000; at <= base + 60_000; at += 5_000) {
      const failing = at >= base + 50_000;
      await testStore.store.guardEvaluations.record(
        evaluation(
          deployment.id,
          at,
          rule('error_rate', failing ? 0.42 : 0.01, failing ? 'fail' : 'pass'),
          at === base + 55_000 ? rule('target_down', 1, 'fail') : rule('target_down', 0, 'pass'),
        ),
      );
    }

    const opened = await openConsolePage(browser, { token });
    const { page, problems } = opened;
    try {
      await open(page, deployment.id);
      const timeline = page.locator('[data-testid=release-timeline]');
      expect(await attributes(page, '[data-testid=timeline-phase]', 'data-kind')).toEqual([
        'gray',
        'gray_bake',
        'rollback',
      ]);
      expect(await attributes(page, '[data-testid=timeline-phase]', 'data-batch')).toEqual([
        '0',
        '0',
        '',
      ]);
      expect(await attributes(page, '[data-testid=machine-lane]', 'data-machine')).toEqual([
        'm1',
        'm2',
        'm3',
      ]);
      const m1 = page.locator('[data-testid=machine-lane][data-machine=m1]');
      const segments = m1.locator('[data-testid=lane-segment]');
      const lane = '[data-testid=machine-lane][data-machine=m1] [data-testid=lane-segment]';
      const states = await attributes(page, lane, 'data-state');
      const versions = await attributes(page, lane, 'data-version');
      expect(states.map((state, index) => [state, versions[index]])).toEqual([
        ['old', 'v1.0.0'],
        ['deploying', 'v1.1.0'],
        ['new', 'v1.1.0'],
        ['rolling_back', 'v1.0.0'],
        ['rolled_back', 'v1.0.0'],
      ]);
      // m2 never left the old version.
      expect(
        await attributes(
          page,
          '[data-testid=machine-lane][data-machine=m2] [data-testid=lane-segment]',
          'data-state',
        ),
      ).toEqual(['old']);
      // Each segment is drawn where its time is: the new version's starts right of the old one's.
      const boxes: number[] = [];
      for (let index = 0; index < (await segments.count()); index++) {
        boxes.push((await segments.nth(index).boundingBox())?.x ?? Number.NaN);
      }
      expect(boxes).toEqual([...boxes].sort((a, b) => a - b));
      expect(new Set(boxes).size).toBe(boxes.length);

      const verdicts = await attributes(page, '[data-testid=evaluation-mark]', 'data-verdict');
      expect(verdicts).toEqual([...Array<string>(7).fill('pass'), 'fail', 'target_down', 'fail']);
      const kinds = await attributes(
        page,
        '[data-testid=release-timeline] [data-testid=chart-marker]',
        'data-kind',
      );
      expect(kinds).toEqual([
        'start',
        'gray_deployed',
        'breach',
        'rollback_begun',
        'rollback_done',
      ]);
      expect(
        await timeline.locator('[data-testid=chart-marker][data-kind=breach]').textContent(),
      ).toBe('breach: error_rate');

      // The guard's rule on the same time: its chart has the phases and markers too.
      const chart = page.locator('[data-testid=guard-chart][data-rule=error_rate]');
      await chart.locator('canvas').first().waitFor();
      expect(
        await attributes(
          page,
          '[data-testid=guard-chart][data-rule=error_rate] [data-testid=chart-band]',
          'data-kind',
        ),
      ).toEqual(['gray', 'gray_bake', 'rollback']);
      expect(
        await chart.locator('[data-testid=chart-marker][data-kind=rollback_begun]').count(),
      ).toBe(1);
      expect(
        await attributes(
          page,
          '[data-testid=guard-chart][data-rule=error_rate] ~ [data-testid=verdict-strip] [data-testid=rule-evaluation-mark]',
          'data-verdict',
        ),
      ).toEqual([...Array<string>(7).fill('pass'), 'fail', 'fail', 'fail']);
      await saveScreenshot(page, 'release-timeline');
      expect(problems).toEqual([]);
    } finally {
      await opened.close();
    }
  }, 120_000);

  it('moves on while the release runs, without a reload', async () => {
    const base = Date.now() - 30_000;
    const deployment = await testStore.store.deployments.create(
      {
        app_name: app.name,
        app_id: app.id,
        status: 'verifying',
        package_version: 'v1.1.0',
        gray_machine_id: 'm1',
        platform: 'local',
        previous_version: 'v1.0.0',
        node_deployments: layout.map(([machine_id, batch]) => ({
          machine_id,
          batch,
          status: machine_id === 'm1' ? ('deployed' as const) : ('pending' as const),
          version: 'v1.1.0',
        })),
        timeline: [
          step(base + 500, 'deploying'),
          step(base + 1_000, 'deploying', 'm1'),
          step(base + 5_000, 'deployed', 'm1'),
          step(base + 5_500, 'verifying'),
        ],
      },
      base,
    );
    const opened = await openConsolePage(browser, { token });
    const { page, problems } = opened;
    try {
      await open(page, deployment.id);
      const phases = page.locator('[data-testid=timeline-phase]');
      await expect
        .poll(() => attributes(page, '[data-testid=timeline-phase]', 'data-kind'))
        .toEqual(['gray', 'gray_bake']);
      // Still baking: the band has no end.
      expect(await phases.nth(1).getAttribute('data-to')).toBeNull();

      // Batch 1 starts, as the activities record it.
      const { deployments } = testStore.store;
      await deployments.updateWithEvent(
        deployment.id,
        { status: 'deploying' },
        step(Date.now(), 'deploying'),
      );
      await deployments.recordMachineStep(
        deployment.id,
        'm2',
        { status: 'deploying' },
        step(Date.now(), 'deploying', 'm2'),
      );
      await expect
        .poll(() => attributes(page, '[data-testid=timeline-phase]', 'data-kind'), {
          timeout: 20_000,
        })
        .toEqual(['gray', 'gray_bake', 'batch']);
      expect(
        await attributes(
          page,
          '[data-testid=machine-lane][data-machine=m2] [data-testid=lane-segment]',
          'data-state',
        ),
      ).toEqual(['old', 'deploying']);
      expect(
        await attributes(
          page,
          '[data-testid=release-timeline] [data-testid=chart-marker]',
          'data-kind',
        ),
      ).toEqual(['start', 'gray_deployed', 'batch']);
      expect(problems).toEqual([]);
    } finally {
      await opened.close();
    }
  }, 120_000);
});
