import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationInput, type Application, type Deployment } from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { startTemporalServer, type TemporalServer } from '../support/temporal-server';
import { kill, startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import { ended, machineStarts, waitForStoredDeployment } from '../support/release-calls';
import { startTogether } from '../support/start-together';

/**
 * The Temporal server goes away in the middle of a release and comes back on the same port and
 * database, as after a restart of the dev server or a failover. The worker process rides it
 * out: the release resumes where it was and succeeds, each machine deployed once.
 */
const machineCount = 6;
const version = 'v1.0.0';
const serverDownMs = 5000;

let temporalServer: TemporalServer;
let stack: ReleaseStack;
let repo: string;
let deployPath: string;
let app: Application;
let worker: WorkerProcess | undefined;
const ports: number[] = [];
const machineIds = Array.from({ length: machineCount }, (_, index) => `m${index + 1}`);

function deployment(id: string): Promise<Deployment> {
  // From MongoDB: the api's view asks Temporal, which is away for part of this test.
  return stack.testStore.store.deployments.get(id);
}

const deployedCount = (deployment: Deployment) =>
  deployment.node_deployments.filter((node) => node.status === 'deployed').length;

beforeAll(async () => {
  temporalServer = await startTemporalServer();
  [stack, repo, deployPath] = await startTogether([
    startReleaseStack({ worker: false, temporal: temporalServer.environment() }),
    createDemoRepo([{ tag: version }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-machines-')),
  ]);
  for (let index = 0; index < machineCount; index++) ports.push(await freePort());
  app = await stack.testStore.store.applications.create({
    ...ApplicationInput.parse({
      name: 'restart',
      repo,
      deploy_path: deployPath,
      start_cmd: 'node main.js',
      health_check: { path: '/healthz', timeout_seconds: 20 },
      machines: machineIds.map((id, index) => ({ id, host: '127.0.0.1', port: ports[index]! })),
      // One machine per batch with a pause between: the batches last long enough to stop
      // Temporal in the middle of them.
      pacer: { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 2 },
      // The metric guard has tests of its own (test/integration/guard.test.ts).
      rollback_policy: { enabled: false, ai_analysis: false },
    }),
  });
  worker = await startWorkerProcess(stack.workerEnv);
}, 240_000);

afterAll(async () => {
  if (worker) await kill(worker, 'SIGKILL');
  await stack?.stopMachines();
  await stack?.stop();
  await temporalServer?.dispose();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
}, 120_000);

describe('the Temporal server restarted in the middle of a release', () => {
  it('the worker reconnects and the release resumes and succeeds, each machine deployed once', async () => {
    const started = await stack.app.request('/api/v1/deployments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app_id: app.id, package_version: version }),
    });
    expect(started.status, await started.clone().text()).toBe(202);
    const { id } = (await started.json()) as Deployment;

    // After the gray machine, once the batches have begun.
    const beforeStop = await waitForStoredDeployment(
      stack.testStore.store,
      id,
      (current) => deployedCount(current) >= 2 || ended(current),
      120_000,
    );
    expect(beforeStop.status).toBe('deploying');
    const startedAt = Date.now();
    await temporalServer.stop();
    const whileStopped = await deployment(id);
    await delay(serverDownMs);
    await temporalServer.restart();
    const restartedAfterMs = Date.now() - startedAt;

    const done = await waitForStoredDeployment(stack.testStore.store, id, ended, 180_000);
    const resumedAfterMs = Date.now() - startedAt;
    console.log(
      `temporal-restart: stopped with ${deployedCount(whileStopped)} of ${machineCount} machines ` +
        `deployed, back after ${(restartedAfterMs / 1000).toFixed(1)} s; the release ended ` +
        `${done.status} ${(resumedAfterMs / 1000).toFixed(1)} s after the stop`,
    );

    // The worker process rode out the outage: it did not exit, it reconnected.
    expect(worker!.exited(), worker!.output().slice(-4000)).toBe(false);
    // The release was in the middle of its batches when Temporal went away.
    expect(deployedCount(whileStopped)).toBeLessThan(machineCount);
    expect(done.status, done.reason).toBe('succeeded');
    expect(done.node_deployments.map((node) => [node.machine_id, node.status])).toEqual(
      machineIds.map((machineId) => [machineId, 'deployed']),
    );
    const current = await stack.testStore.store.applications.get(app.id);
    expect(current.currentVersion).toBe(version);

    for (const [index, machineId] of machineIds.entries()) {
      const response = await fetch(`http://127.0.0.1:${ports[index]}/version`);
      expect([machineId, ((await response.json()) as { version: string }).version]).toEqual([
        machineId,
        version,
      ]);
      expect(await machineStarts(deployPath, machineId, version), machineId).toBe(1);
    }
  }, 300_000);
});
