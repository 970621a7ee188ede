import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationInput, type Application, type Deployment } from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { kill, startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import { startTogether } from '../support/start-together';

/**
 * The worker process dies (SIGKILL, as a crashed host would) in the middle of a release; a
 * new one takes over. The release must complete and no machine may be deployed twice.
 */
let stack: ReleaseStack;
let repo: string;
let deployPath: string;
let app: Application;
const ports: number[] = [];
const workers: WorkerProcess[] = [];

async function deployment(id: string): Promise<Deployment> {
  const response = await stack.app.request(`/api/v1/deployments/${id}`);
  return (await response.json()) as Deployment;
}

async function machinePid(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/version`);
  return ((await response.json()) as { pid: number }).pid;
}

beforeAll(async () => {
  [stack, repo, deployPath] = await startTogether([
    startReleaseStack({ worker: false }),
    createDemoRepo([{ tag: 'v1.0.0' }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-machines-')),
  ]);
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  app = await stack.testStore.store.applications.create({
    ...ApplicationInput.parse({
      name: 'crash',
      repo,
      deploy_path: deployPath,
      start_cmd: 'node main.js',
      health_check: { path: '/healthz', timeout_seconds: 20 },
      machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
      pacer: { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 1 },
      // The metric guard has tests of its own (test/integration/guard.test.ts).
      rollback_policy: { enabled: false },
    }),
  });
}, 240_000);

afterAll(async () => {
  for (const worker of workers) await kill(worker, 'SIGKILL');
  await stack?.stopMachines();
  await stack?.stop();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

describe('a worker killed in the middle of a release', () => {
  it('is replaced by another and the release completes, each machine deployed once', async () => {
    const first = await startWorkerProcess(stack.workerEnv);
    workers.push(first);
    const started = await stack.app.request('/api/v1/deployments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app_id: app.id, package_version: 'v1.0.0' }),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as Deployment;

    // Kill it while the second machine deploys (or just after the gray one, if that is missed).
    let grayPid: number | undefined;
    for (;;) {
      const current = await deployment(id);
      const [gray, second] = current.node_deployments;
      if (gray?.status === 'deployed') {
        grayPid ??= await machinePid(ports[0]!);
        if (second?.status !== 'pending') break;
      }
      await delay(20);
    }
    await kill(first, 'SIGKILL');

    workers.push(await startWorkerProcess(stack.workerEnv));
    const deadline = Date.now() + 150_000;
    let done = await deployment(id);
    while (!['succeeded', 'failed', 'rolled_back'].includes(done.status) && Date.now() < deadline) {
      await delay(500);
      done = await deployment(id);
    }
    expect(done.status).toBe('succeeded');

    // The gray machine still runs the process of its one deploy.
    expect(await machinePid(ports[0]!)).toBe(grayPid);
    for (const machine of ['m1', 'm2', 'm3']) {
      const log = await readFile(path.join(deployPath, machine, 'logs', 'v1.0.0.log'), 'utf8');
      const starts = log.split('\n').filter((line) => line.includes('mockserver listening'));
      expect(starts, machine).toHaveLength(1);
    }
  }, 240_000);
});
