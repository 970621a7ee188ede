import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type Application, type Deployment, type NoDataAction } from '../../domain';
import { runLoad } from '../../mockserver/load-generator';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import {
  machineVersions,
  releaseCalls,
  startAlertReceiver,
  type AlertReceiver,
} from '../support/release-calls';
import { startTogether } from '../support/start-together';

/**
 * Prometheus stops, for good, while three releases bake under load: one per `no_data` policy,
 * each with the metric guard on, on two local machines of its own scraped by a real Prometheus
 * (the `rollback` one after an unguarded v1.0.0, the others a first release). The guard can no
 * longer read a metric, and the policy decides, never a silent pass:
 * - `rollback`: every evaluation in error is a breach; the release rolls back, and says why;
 * - `ignore`: the release goes on, and a `guard_blind` alert says it is not guarded;
 * - `pause`: the release pauses with an alert, for a person to decide.
 * `ignore` and `pause` wait out the guard's grace for a new version's first scrapes (a minute
 * from the gray machine's deploy), so the three run at once.
 */
const policies: NoDataAction[] = ['rollback', 'ignore', 'pause'];
let stack: ReleaseStack;
let prometheus: TestPrometheus;
let receiver: AlertReceiver;
let repo: string;
let deployPath: string;
let targetsDir: string;
const apps = new Map<NoDataAction, Application>();
/** The v2.0.0 release of each application, started before Prometheus stops. */
const releases = new Map<NoDataAction, string>();
const ports = new Map<NoDataAction, number[]>();
const load = new AbortController();
let loadDone: Promise<unknown> | undefined;
let prometheusStoppedAt = 0;
const { api, waitForStatus } = releaseCalls(() => stack.app);

const window = '[5s]';
const redMetrics = {
  rate: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}${window}))`,
  errors: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",status=~"5.."}${window}))`,
  duration: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}${window})))`,
};

/**
 * The guard of each policy. `rollback` also counts the new version's first seconds without
 * data as breaches, so it needs more of them in a row than those seconds give (4 × 3 s).
 */
function rollbackPolicy(noData: NoDataAction) {
  return {
    enabled: true,
    no_data: noData,
    interval_seconds: noData === 'rollback' ? 3 : 2,
    consecutive_breaches: noData === 'rollback' ? 4 : 2,
    rules: [
      { name: 'error rate above 10%', metric: 'error_rate', threshold: 0.1, min_request_rate: 1 },
    ],
    notify: ['oncall'],
    ai_analysis: false,
  };
}

/**
 * `rollback` bakes until the guard acts; `ignore` and `pause` bake briefly, then wait for an
 * approval that the test gives once the guard has said it is blind.
 */
function pacer(noData: NoDataAction) {
  return noData === 'rollback'
    ? { batch_size: 1, gray_bake_seconds: 600, interval_seconds: 1 }
    : { batch_size: 1, gray_bake_seconds: 5, interval_seconds: 1, manual_approval: true };
}

async function release(noData: NoDataAction, version: string): Promise<string> {
  const started = await api<Deployment>('POST', '/api/v1/deployments', {
    app_id: apps.get(noData)!.id,
    package_version: version,
  });
  expect(started.status).toBe(202);
  return started.body.id;
}

async function versionsOf(noData: NoDataAction): Promise<(string | undefined)[]> {
  return (await machineVersions(ports.get(noData)!)).map((machine) => machine.version);
}

/**
 * Waits until the release asks for its approval: the bake and the guard's judgement come first,
 * and `approve` is refused (409) before then. The order is asserted, not a duration.
 */
async function waitForApprovalAsked(id: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { body } = await api<Deployment & { progress?: { awaitingApproval?: boolean } }>(
      'GET',
      `/api/v1/deployments/${id}`,
    );
    if (body.progress?.awaitingApproval === true) return;
    if (isTerminal(body.status)) throw new Error(`${id} ended ${body.status}: ${body.reason}`);
    if (Date.now() > deadline) throw new Error(`${id} never asked for its approval`);
    await delay(500);
  }
}

/** Waits until Prometheus has a request rate of `version` of `app`: the guard can see it. */
async function waitForRate(app: string, version: string): Promise<void> {
  const promql = `sum(rate(http_requests_total{app="${app}",version="${version}"}${window}))`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rate = await prometheus.query(promql);
    if (rate !== undefined && rate > 0) return;
    if (Date.now() > deadline) throw new Error(`no request rate of ${app} ${version}`);
    await delay(250);
  }
}

beforeAll(async () => {
  receiver = await startAlertReceiver();
  // The targets folder outlives Prometheus: relguard keeps writing machines into it.
  targetsDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-targets-'));
  prometheus = await startPrometheus({ targetsDir, scrapeIntervalSeconds: 1 });
  [stack, repo, deployPath] = await startTogether([
    startReleaseStack({
      prometheusUrl: prometheus.url,
      targetsDir,
      notifyChannels: { oncall: { type: 'webhook', url: receiver.url } },
    }),
    createDemoRepo([{ tag: 'v1.0.0' }, { tag: 'v2.0.0' }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-machines-')),
  ]);
  for (const noData of policies) {
    const machinePorts = [await freePort(), await freePort()];
    ports.set(noData, machinePorts);
    const created = await api<Application>('POST', '/api/v1/applications', {
      name: `shop-${noData}`,
      repo,
      deploy_path: deployPath,
      start_cmd: 'node main.js',
      machines: machinePorts.map((port, i) => ({
        id: `${noData}-${i + 1}`,
        host: '127.0.0.1',
        port,
      })),
      // `rollback` first puts v1.0.0 out unguarded, to have a version to roll back to.
      ...(noData === 'rollback'
        ? {
            pacer: { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 1 },
            rollback_policy: { ...rollbackPolicy(noData), enabled: false },
          }
        : { pacer: pacer(noData), rollback_policy: rollbackPolicy(noData) }),
      red_metrics_config: redMetrics,
    });
    expect(created.status).toBe(201);
    apps.set(noData, created.body);
  }
  loadDone = runLoad({
    targets: [...ports.values()].flat().map((port) => `http://127.0.0.1:${port}`),
    rps: 60,
    signal: load.signal,
    timeoutMs: 2000,
  });

  // `ignore` and `pause` start their (first) release at once: the guard's minute of grace runs
  // while `rollback` puts v1.0.0 out.
  releases.set('ignore', await release('ignore', 'v2.0.0'));
  releases.set('pause', await release('pause', 'v2.0.0'));
  const first = await release('rollback', 'v1.0.0');
  expect((await waitForStatus(first, ['succeeded', 'failed', 'rolled_back'])).status).toBe(
    'succeeded',
  );
  const guarded = await api('PUT', `/api/v1/applications/${apps.get('rollback')!.id}`, {
    pacer: pacer('rollback'),
    rollback_policy: rollbackPolicy('rollback'),
  });
  expect(guarded.status).toBe(200);
  releases.set('rollback', await release('rollback', 'v2.0.0'));

  // Every gray machine is up and measured: the guard saw data before it went blind.
  for (const noData of policies) {
    await waitForStatus(releases.get(noData)!, ['verifying']);
    await waitForRate(`shop-${noData}`, 'v2.0.0');
  }
  await prometheus.stop();
  prometheusStoppedAt = Date.now();
}, 240_000);

afterAll(async () => {
  load.abort();
  await loadDone?.catch(() => undefined);
  await stack?.stopMachines();
  await stack?.stop();
  await prometheus?.stop();
  await receiver?.close();
  for (const dir of [repo, deployPath, targetsDir]) await rm(dir, { recursive: true, force: true });
});

describe('Prometheus stops while the metric guard watches a release', () => {
  it('no_data: rollback rolls the release back, saying the metrics could not be read', async () => {
    const done = await waitForStatus(releases.get('rollback')!, [
      'rolled_back',
      'succeeded',
      'failed',
      'paused',
    ]);
    expect(done.status).toBe('rolled_back');
    expect(done.rollback?.requested_by).toBe('metric-guard');
    expect(done.reason).toMatch(
      /^metric guard: target_down: error: .*cannot reach http:\/\/127\.0\.0\.1:\d+.*; error rate above 10%: error: .*cannot reach/,
    );
    // target_down cannot read the targets either: both are blind.
    expect(done.rollback?.failing?.map((rule) => [rule.rule, rule.verdict])).toEqual([
      ['target_down', 'error'],
      ['error rate above 10%', 'error'],
    ]);
    expect(done.rollback?.detected_at).toBeGreaterThan(prometheusStoppedAt);
    expect(await versionsOf('rollback')).toEqual(['v1.0.0', 'v1.0.0']);
    const alert = await receiver.waitFor('rolled_back', 'shop-rollback');
    expect(alert.title).toMatch(/cannot reach/);
    expect(alert.action).toMatch(/^rolled back 1 machine\(s\) to v1\.0\.0/);
  });

  it('no_data: ignore lets the release go on, with a guard_blind alert', async () => {
    const id = releases.get('ignore')!;
    const blind = await receiver.waitFor('guard_blind', 'shop-ignore', 90);
    expect(blind.deployment_id).toBe(id);
    expect(blind.title).toMatch(
      /is not guarded: metric guard cannot judge the release: .*cannot reach/,
    );
    expect(blind.failing.map((rule) => rule.verdict)).toEqual(['error', 'error']);
    expect(blind.action).toMatch(/no_data: ignore/);
    // Blind, not stopped: it waits for its approval as it would have anyway.
    const waiting = await api<Deployment>('GET', `/api/v1/deployments/${id}`);
    expect(waiting.body.status).toBe('verifying');
    await waitForApprovalAsked(id);
    expect((await api('POST', `/api/v1/deployments/${id}/approve`, {})).status).toBe(202);
    const done = await waitForStatus(id, ['succeeded', 'rolled_back', 'failed']);
    expect(done.status).toBe('succeeded');
    expect(await versionsOf('ignore')).toEqual(['v2.0.0', 'v2.0.0']);
    // One guard_blind for the release; the health watcher, blind too, may say so per machine
    // (machine_down "cannot be judged"), but nothing else.
    const alerts = receiver.alerts.filter((alert) => alert.app === 'shop-ignore');
    expect(alerts.filter((alert) => alert.kind === 'guard_blind')).toHaveLength(1);
    for (const alert of alerts.filter((alert) => alert.kind !== 'guard_blind')) {
      expect(alert.kind).toBe('machine_down');
      expect(alert.action).toMatch(/cannot be judged/);
    }
  }, 120_000);

  it('no_data: pause pauses the release with an alert, and a person decides', async () => {
    const id = releases.get('pause')!;
    const paused = await waitForStatus(id, ['paused', 'succeeded', 'rolled_back', 'failed'], 90);
    expect(paused.status).toBe('paused');
    expect(paused.reason).toMatch(/^metric guard cannot judge the release: .*cannot reach/);
    const alert = await receiver.waitFor('paused', 'shop-pause');
    expect(alert.deployment_id).toBe(id);
    expect(alert.failing.map((rule) => rule.verdict)).toEqual(['error', 'error']);
    expect(await versionsOf('pause')).toEqual(['v2.0.0', undefined]);

    // The person goes on without the guard: resume, approve, and the release completes.
    expect((await api('POST', `/api/v1/deployments/${id}/resume`, {})).status).toBe(202);
    await waitForApprovalAsked(id);
    expect((await api('POST', `/api/v1/deployments/${id}/approve`, {})).status).toBe(202);
    const done = await waitForStatus(id, ['succeeded', 'rolled_back', 'failed']);
    expect(done.status).toBe('succeeded');
    expect(await versionsOf('pause')).toEqual(['v2.0.0', 'v2.0.0']);
  }, 120_000);
});
