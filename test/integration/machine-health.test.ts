import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineEvent } from '../../activities/db';
import type { Application, Deployment, MachineStatus } from '../../domain';
import { appHealthWorkflowId } from '../../domain/machine-health';
import { appHealthQuery } from '../../workflows/app-health/messages';
import { freePort } from '../support/free-port';
import { createLedgerRepo, ledgerPid } from '../support/ledger-service';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { releaseCalls, startAlertReceiver, type AlertReceiver } from '../support/release-calls';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';

/**
 * Issue 20 on the real stack: a Temporal dev server, MongoDB storage, a real Prometheus
 * scraping every second, the in-process worker running each application's health watcher, and
 * "ledger", a service written for this test (its own health path and metric). Outside any
 * release: a killed machine becomes `error` within two checks and pages once, its restart
 * `healthy` and a recovery; an Alertmanager alert marks a machine `alert` until resolved;
 * Prometheus stopped makes every machine `unknown`; deleting the application asks what to do
 * with its machines. States and the watcher's own check counts are asserted, never durations.
 */
let stack: ReleaseStack;
let prometheus: TestPrometheus;
let alerts: AlertReceiver;
let repo: string;
let deployPath: string;
const calls = releaseCalls(() => stack.app);
const kept: number[] = [];

beforeAll(async () => {
  [prometheus, alerts, repo] = await Promise.all([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startAlertReceiver(),
    createLedgerRepo(['v1.0.0']),
  ]);
  deployPath = await mkdtemp(path.join(os.tmpdir(), 'relguard-ledger-machines-'));
  stack = await startReleaseStack({
    prometheusUrl: prometheus.url,
    targetsDir: prometheus.targetsDir,
    scrapeIntervalSeconds: 1,
    notifyChannels: { ops: { type: 'webhook', url: alerts.url } },
  });
}, 240_000);

afterAll(async () => {
  for (const pid of kept) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await stack?.stopMachines();
  await stack?.stop();
  await prometheus?.stop();
  await alerts?.close();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

async function createLedger(name: string, machines: number): Promise<Application> {
  const ports: number[] = [];
  for (let i = 0; i < machines; i++) ports.push(await freePort());
  const created = await calls.api<Application>('POST', '/api/v1/applications', {
    name,
    repo,
    deploy_path: path.join(deployPath, name),
    start_cmd: 'node server.js',
    health_check: { path: '/status/ready', timeout_seconds: 20 },
    health: { interval_seconds: 1, failures_before_error: 2 },
    machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
    pacer: { batch_size: machines, gray_bake_seconds: 0, interval_seconds: 0 },
    // The guard has tests of its own; here the watcher alone watches.
    rollback_policy: { enabled: false, notify: ['ops'] },
    red_metrics_config: {
      rate: 'sum(rate(ledger_balance_updates_total{app="{{app}}",version="{{version}}"}[5s]))',
      errors:
        'sum(rate(ledger_balance_updates_total{app="{{app}}",version="{{version}}"}[5s])) * 0',
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const started = await calls.api<Deployment>('POST', '/api/v1/deployments', {
    app_id: created.body.id,
    package_version: 'v1.0.0',
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const done = await calls.waitForStatus(started.body.id, ['succeeded', 'failed', 'rolled_back']);
  expect(done.status, done.reason).toBe('succeeded');
  return created.body;
}

async function application(id: string): Promise<Application> {
  const { status, body } = await calls.api<Application>('GET', `/api/v1/applications/${id}`);
  expect(status).toBe(200);
  return body;
}

/** Polls until every named machine has its wanted status; answers the application then. */
async function waitForStatuses(
  id: string,
  wanted: Record<string, MachineStatus>,
  seconds = 60,
): Promise<Application> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const app = await application(id);
    const now = Object.fromEntries(app.machines.map((machine) => [machine.id, machine.status]));
    if (Object.entries(wanted).every(([machine, status]) => now[machine] === status)) return app;
    if (Date.now() > deadline) {
      throw new Error(
        `machines are ${JSON.stringify(now)}, not ${JSON.stringify(wanted)}: ${app.machines
          .map((machine) => `${machine.id} ${machine.status_reason ?? ''}`)
          .join('; ')}`,
      );
    }
    await delay(200);
  }
}

const watcherChecks = async (appId: string) =>
  (await stack.temporal.client.workflow.getHandle(appHealthWorkflowId(appId)).query(appHealthQuery))
    .checks;

/** Whether the process runs: not gone, and not a zombie waiting for its parent to reap it. */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function refusesConnections(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('live machine health, outside any release', () => {
  let ledger: Application;

  it('every machine of a fresh release is healthy, with why and since when', async () => {
    ledger = await createLedger('ledger', 3);
    const app = await waitForStatuses(ledger.id, { m1: 'healthy', m2: 'healthy', m3: 'healthy' });
    expect(app).toMatchObject({ machine_count: 3, health_count: 3, error_count: 0 });
    for (const machine of app.machines) {
      expect(machine.status_reason).toBeTruthy();
      expect(machine.status_since).toBeGreaterThan(0);
    }
  });

  it('a killed process is error within two checks, paged once with the machine, version and why; health_count drops', async () => {
    // The worker stops and starts again while the machine dies: no transition is lost.
    const checksBefore = await watcherChecks(ledger.id);
    await stack.stopWorker();
    process.kill(await ledgerPid(path.join(deployPath, 'ledger'), 'm2'), 'SIGKILL');
    await stack.startWorker();
    const app = await waitForStatuses(ledger.id, { m2: 'error' });
    const checksAfter = await watcherChecks(ledger.id);
    // Two failed checks in a row make an error; a third may have been under way.
    expect(checksAfter - checksBefore).toBeLessThanOrEqual(3);
    expect(app).toMatchObject({ health_count: 2, error_count: 1 });
    const m2 = app.machines.find((machine) => machine.id === 'm2')!;
    expect(m2.status_reason).toMatch(/process relguard started has exited|health check/);

    const alert = await alerts.waitFor('machine_down', 'ledger', 30);
    expect(alert.machines).toEqual(['m2']);
    expect(alert.version).toBe('v1.0.0');
    expect(alert.title).toMatch(/ledger\/m2 \(v1\.0\.0\) is down since \d{4}-/);
    expect(alert.links.map((link) => link.label)).toEqual([
      'Console',
      'Application',
      'Health watcher',
    ]);
    // The console's application page first: what a person opens.
    expect(alert.links[0]?.url).toBe(`${stack.apiUrl}/console/apps/${ledger.id}`);
    // Still down some checks later: paged once, not once a check.
    const later = (await watcherChecks(ledger.id)) + 3;
    while ((await watcherChecks(ledger.id)) < later) await delay(200);
    expect(
      alerts.alerts.filter((a) => a.app === 'ledger' && a.kind === 'machine_down'),
    ).toHaveLength(1);
  });

  it('restarted through its platform, it is healthy again, announced once', async () => {
    const app = await application(ledger.id);
    const machine = app.machines.find((candidate) => candidate.id === 'm2')!;
    const record = await stack.testStore.store.packages.findByVersion(app.id, 'v1.0.0');
    const { packageStore } = stack.activityDeps.deps;
    await stack.activityDeps.deps.platforms.local.deploy(
      { app, machine },
      {
        version: 'v1.0.0',
        url: await packageStore.downloadUrl(record!.key, 600),
        md5: record!.md5,
        size: record!.size,
      },
    );
    const healthy = await waitForStatuses(ledger.id, { m2: 'healthy' });
    expect(healthy).toMatchObject({ health_count: 3, error_count: 0 });
    const recovered = await alerts.waitFor('machine_recovered', 'ledger', 30);
    expect(recovered.title).toMatch(/ledger\/m2 \(v1\.0\.0\) recovered/);
  });

  it('an Alertmanager alert naming a machine makes it alert until it is resolved', async () => {
    const alert = (status: 'firing' | 'resolved') => ({
      version: '4',
      status,
      receiver: 'relguard',
      alerts: [
        {
          status,
          labels: { alertname: 'LedgerBalanceDrift', app: 'ledger', instance: 'm3' },
          annotations: { summary: 'balances drift' },
          startsAt: new Date().toISOString(),
          fingerprint: 'ledger-drift-m3',
        },
      ],
    });
    const fired = await calls.api<{ machines: unknown[] }>(
      'POST',
      '/api/v1/webhooks/alertmanager',
      alert('firing'),
    );
    expect(fired.status).toBe(202);
    expect(fired.body.machines).toEqual([
      { app: 'ledger', machine_id: 'm3', alert: 'LedgerBalanceDrift', status: 'firing' },
    ]);
    const alerting = await waitForStatuses(ledger.id, { m3: 'alert' });
    expect(alerting).toMatchObject({ alert_count: 1, health_count: 2 });
    expect(alerting.machines.find((m) => m.id === 'm3')!.status_reason).toBe(
      'alert firing: LedgerBalanceDrift',
    );

    const resolved = await calls.api('POST', '/api/v1/webhooks/alertmanager', alert('resolved'));
    expect(resolved.status).toBe(202);
    const cleared = await waitForStatuses(ledger.id, { m3: 'healthy' });
    expect(cleared).toMatchObject({ alert_count: 0, health_count: 3 });
  });

  it('the history of each machine says what happened, newest first', async () => {
    const { body } = await calls.api<{ items: MachineEvent[] }>(
      'GET',
      `/api/v1/applications/${ledger.id}/machine-events?machine=m2`,
    );
    const statuses = body.items.map((event) => event.status);
    // Newest first: healthy (restarted), error (killed), then the release's healthy.
    expect(statuses.slice(0, 2)).toEqual(['healthy', 'error']);
    expect(body.items[1]!.version).toBe('v1.0.0');
  });

  it('deleting the application is refused while its machines run, and ?machines=stop leaves no process', async () => {
    const pids = await Promise.all(
      ['m1', 'm2', 'm3'].map((id) => ledgerPid(path.join(deployPath, 'ledger'), id)),
    );
    const refused = await calls.api<{ error: { message: string } }>(
      'DELETE',
      `/api/v1/applications/${ledger.id}`,
    );
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/m1 v1\.0\.0, m2 v1\.0\.0, m3 v1\.0\.0/);
    expect(refused.body.error.message).toMatch(/machines=stop/);

    const deleted = await calls.api<{ machines: string; affected: { machine_id: string }[] }>(
      'DELETE',
      `/api/v1/applications/${ledger.id}?machines=stop`,
    );
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body.machines).toBe('stopped');
    expect(deleted.body.affected.map((machine) => machine.machine_id)).toEqual(['m1', 'm2', 'm3']);
    for (const pid of pids) expect(await running(pid), `pid ${pid}`).toBe(false);
    for (const machine of ledger.machines)
      expect(await refusesConnections(machine.port)).toBe(true);
    expect((await calls.api('GET', `/api/v1/applications/${ledger.id}`)).status).toBe(404);

    // What it did stays readable: the stop is in each machine's history.
    const { body } = await calls.api<{ items: MachineEvent[] }>(
      'GET',
      `/api/v1/applications/${ledger.id}/machine-events`,
    );
    expect(body.items.filter((event) => /deleted/.test(event.reason))).toHaveLength(3);
    // And its watcher ended.
    const watcher = stack.temporal.client.workflow.getHandle(appHealthWorkflowId(ledger.id));
    expect(await watcher.result()).toBe('stopped: the application was deleted');
  });

  it('?machines=keep deletes the application, leaves the machine running and says so', async () => {
    const keep = await createLedger('ledger-keep', 1);
    await waitForStatuses(keep.id, { m1: 'healthy' });
    const pid = await ledgerPid(path.join(deployPath, 'ledger-keep'), 'm1');
    kept.push(pid);
    const deleted = await calls.api<{
      machines: string;
      affected: { machine_id: string; version: string }[];
    }>('DELETE', `/api/v1/applications/${keep.id}?machines=keep`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      machines: 'kept',
      affected: [{ machine_id: 'm1', version: 'v1.0.0' }],
    });
    expect(await running(pid)).toBe(true);
  });
});

describe('live machine health when relguard cannot see', () => {
  it('Prometheus stopped: every machine is unknown, never healthy nor error, and it is said', async () => {
    const blind = await createLedger('ledger-blind', 2);
    await waitForStatuses(blind.id, { m1: 'healthy', m2: 'healthy' });
    await prometheus.stop();
    const app = await waitForStatuses(blind.id, { m1: 'unknown', m2: 'unknown' });
    expect(app).toMatchObject({ health_count: 0, error_count: 0, alert_count: 0 });
    expect(app.machines[0]!.status_reason).toMatch(/Prometheus cannot be asked/);
    const said = await alerts.waitFor('machine_down', 'ledger-blind', 30);
    expect(said.action).toMatch(/cannot be judged/);
    // Some checks later it is still unknown: nothing turns it back to healthy by default.
    const later = (await watcherChecks(blind.id)) + 3;
    while ((await watcherChecks(blind.id)) < later) await delay(200);
    expect((await application(blind.id)).machines.map((machine) => machine.status)).toEqual([
      'unknown',
      'unknown',
    ]);
  });
});
