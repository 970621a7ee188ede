import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application, Deployment } from '../../domain';
import { appHealthWorkflowId } from '../../domain/machine-health';
import { appHealthQuery } from '../../workflows/app-health/messages';
import { freePort } from '../support/free-port';
import { createLedgerRepo, ledgerDir, ledgerPid } from '../support/ledger-service';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { releaseCalls, startAlertReceiver, type AlertReceiver } from '../support/release-calls';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { kill, startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * The worker process dies (SIGKILL) in the middle of a health check, the moment a machine
 * dies too; a new worker takes over. The transition is not lost: the machine ends `error`,
 * paged once. Each check is slowed (a health check that answers in 1.5 s on one machine) so
 * that the kill lands while a check runs, which the watcher's query shows.
 */
let stack: ReleaseStack;
let prometheus: TestPrometheus;
let alerts: AlertReceiver;
let repo: string;
let deployPath: string;
const workers: WorkerProcess[] = [];
const calls = releaseCalls(() => stack.app);

function workerEnv(): Record<string, string> {
  return {
    ...stack.workerEnv,
    PROMETHEUS_URL: prometheus.url,
    PROMETHEUS_TARGETS_DIR: prometheus.targetsDir,
    PROMETHEUS_SCRAPE_INTERVAL_SECONDS: '1',
    NOTIFY_CHANNELS: JSON.stringify({ ops: { type: 'webhook', url: alerts.url } }),
  };
}

beforeAll(async () => {
  [prometheus, alerts, repo, deployPath] = await Promise.all([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startAlertReceiver(),
    createLedgerRepo(['v1.0.0']),
    mkdtemp(path.join(os.tmpdir(), 'relguard-ledger-crash-')),
  ]);
  stack = await startReleaseStack({
    worker: false,
    prometheusUrl: prometheus.url,
    targetsDir: prometheus.targetsDir,
    scrapeIntervalSeconds: 1,
  });
  workers.push(await startWorkerProcess(workerEnv()));
}, 240_000);

afterAll(async () => {
  for (const worker of workers) await kill(worker, 'SIGKILL');
  await stack?.stopMachines();
  await stack?.stop();
  await prometheus?.stop();
  await alerts?.close();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

async function machineStatus(appId: string, machineId: string) {
  const { body } = await calls.api<Application>('GET', `/api/v1/applications/${appId}`);
  return body.machines.find((machine) => machine.id === machineId)!;
}

describe('the health watcher when its worker is killed mid-check', () => {
  it('loses no transition: the machine that died meanwhile ends error, paged once', async () => {
    const ports = [await freePort(), await freePort()];
    const created = await calls.api<Application>('POST', '/api/v1/applications', {
      name: 'ledger',
      repo,
      deploy_path: deployPath,
      start_cmd: 'node server.js',
      health_check: { path: '/status/ready', timeout_seconds: 20 },
      health: { interval_seconds: 1, failures_before_error: 2 },
      machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
      pacer: { batch_size: 2, gray_bake_seconds: 0, interval_seconds: 0 },
      rollback_policy: { enabled: false, notify: ['ops'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const app = created.body;
    const started = await calls.api<Deployment>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v1.0.0',
    });
    expect(started.status).toBe(202);
    const done = await calls.waitForStatus(started.body.id, ['succeeded', 'failed', 'rolled_back']);
    expect(done.status, done.reason).toBe('succeeded');

    // m2 answers its health check in 1.5 s: each check runs that long, and is mid-way soon.
    await writeFile(path.join(await ledgerDir(deployPath, 'm2'), 'slow-health'), '1500');
    const watcher = stack.temporal.client.workflow.getHandle(appHealthWorkflowId(app.id));
    const checks = async () => (await watcher.query(appHealthQuery)).checks;
    const first = await checks();
    while ((await checks()) === first) await delay(50);
    // A check has just ended; the next starts within the 1 s interval and runs 1.5 s.
    await delay(1500);
    const pending = (await watcher.describe()).raw.pendingActivities ?? [];
    expect(pending.map((activity) => activity.activityType?.name)).toContain('checkMachines');

    process.kill(await ledgerPid(deployPath, 'm1'), 'SIGKILL');
    await kill(workers[0]!, 'SIGKILL');
    workers.push(await startWorkerProcess(workerEnv()));

    for (let i = 0; (await machineStatus(app.id, 'm1')).status !== 'error'; i++) {
      if (i > 600)
        throw new Error(`m1 is not error: ${JSON.stringify(await machineStatus(app.id, 'm1'))}`);
      await delay(100);
    }
    const down = await alerts.waitFor('machine_down', 'ledger', 60);
    expect(down.machines, down.action).toEqual(['m1']);
    // m2, slow but answering, stayed healthy throughout.
    expect((await machineStatus(app.id, 'm2')).status).toBe('healthy');
    const later = (await checks()) + 3;
    while ((await checks()) < later) await delay(200);
    expect(alerts.alerts.filter((alert) => alert.kind === 'machine_down')).toHaveLength(1);
  }, 300_000);
});
