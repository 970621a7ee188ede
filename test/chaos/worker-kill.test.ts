import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { LocalPlatform } from '../../activities/platform/local';
import { ApplicationInput, type Application, type Deployment } from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { kill, startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import { ended, machineStarts, waitForStoredDeployment } from '../support/release-calls';
import { chaosSeed, chaosTrials, seededRandom } from './trials';
import { startTogether } from '../support/start-together';

/**
 * kill -9 of the worker at a random moment of a 20-machine release, `chaosTrials()` times: a
 * new worker takes over and the release ends as it should (succeeded, or rolled back when a
 * rollback was asked for), MongoDB agrees, every machine runs the version it should and no
 * machine was deployed twice. The moments come from a seeded PRNG; the seed is printed
 * (RELGUARD_CHAOS_SEED replays the same choices).
 */
const machineCount = 20;
const batchSize = 5;
const trials = chaosTrials();
const seed = chaosSeed();
const random = seededRandom(seed);
/** One version per trial, after the one every machine runs before the first trial. */
const versions = Array.from({ length: trials + 1 }, (_, index) => `v1.${index}.0`);
const lastBatch = Math.ceil((machineCount - 1) / batchSize);

/** Where in the release the worker is killed; `rollback` asks for one first. */
const killPhases = ['build', 'gray', 'bake', 'batches', 'rollback'] as const;
type KillPhase = (typeof killPhases)[number];

/** Every phase once in each five trials, in an order the seed shuffles. */
function shuffledPhases(): KillPhase[] {
  const order = [...killPhases];
  for (let index = order.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  return order;
}
const phases: KillPhase[] = [];
while (phases.length < trials) phases.push(...shuffledPhases());
phases.length = trials;

/** Reads what relguard recorded on each machine (the pid it started), as the worker does. */
const machines = new LocalPlatform({ releasesKept: 3, logger: createLogger('test', 'silent') });

let stack: ReleaseStack;
let repo: string;
let deployPath: string;
let app: Application;
let worker: WorkerProcess;
const workers: WorkerProcess[] = [];
const ports: number[] = [];
const machineIds = Array.from({ length: machineCount }, (_, index) => `m${index + 1}`);

async function startWorker(): Promise<WorkerProcess> {
  const started = await startWorkerProcess(stack.workerEnv);
  workers.push(started);
  return started;
}

function deployment(id: string): Promise<Deployment> {
  // Read from MongoDB, not the api: the api asks the workflow for its progress, and no worker
  // answers that query while the test has killed it.
  return stack.testStore.store.deployments.get(id);
}

async function startRelease(version: string): Promise<string> {
  const response = await stack.app.request('/api/v1/deployments', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: app.id, package_version: version }),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as Deployment).id;
}

async function machineVersion(port: number): Promise<{ version: string; pid: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/version`, {
    signal: AbortSignal.timeout(3000),
  });
  return (await response.json()) as { version: string; pid: number };
}

/** The process group of a process, from /proc (Linux, as the local platform is). */
async function processGroup(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // pid (comm) state ppid pgrp ...: comm may hold spaces, so count from its closing paren.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields?.[2] === undefined ? undefined : Number(fields[2]);
}

/** Process groups of machine processes under the test's deploy path, tracked or not. */
async function machineProcessGroups(): Promise<number[]> {
  const groups = new Set<number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (
      environ.split('\0').some((line) => line.startsWith(`RELGUARD_DEPLOY_PATH=${deployPath}/`))
    ) {
      const group = await processGroup(Number(entry));
      if (group !== undefined) groups.add(group);
    }
  }
  return [...groups];
}

/** What the machine's folder says, for the message of a failed check. */
async function machineReport(machineId: string): Promise<string> {
  const dir = path.join(deployPath, machineId);
  const state = await readFile(path.join(dir, 'relguard-machine.json'), 'utf8').catch(String);
  const logs = await readdir(path.join(dir, 'logs')).catch(() => []);
  const tails = await Promise.all(
    logs.map(async (log) => {
      const text = await readFile(path.join(dir, 'logs', log), 'utf8').catch(String);
      return `--- logs/${log}:\n${text.slice(-1500)}`;
    }),
  );
  return [`machine ${machineId}, state: ${state}`, ...tails].join('\n');
}

const starts = (machineId: string, version: string) =>
  machineStarts(deployPath, machineId, version);

/** Where a release is, in words: the status and what its machines are doing. */
function describeMoment(deployment: Deployment): string {
  const nodes = deployment.node_deployments;
  const counts = new Map<string, number>();
  for (const node of nodes) counts.set(node.status, (counts.get(node.status) ?? 0) + 1);
  const machines = [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
  const started = nodes.filter((node) => node.status !== 'pending');
  const batch = Math.max(-1, ...started.map((node) => node.batch));
  const batchDone = nodes
    .filter((node) => node.batch === batch)
    .every((node) => node.status === 'deployed');
  let where: string;
  if (deployment.status === 'building' || deployment.status === 'pending') where = 'build';
  else if (deployment.status === 'verifying') where = 'bake';
  else if (deployment.status === 'rolling_back') where = 'rollback';
  else if (ended(deployment)) where = `after the end (${deployment.status})`;
  else if (batch <= 0) where = 'gray';
  else if (batchDone && batch < lastBatch) where = `interval after batch ${batch}`;
  else where = `batch ${batch}`;
  return `${where} [${deployment.status}; ${machines}]`;
}

/** Waits until the release reaches `phase`, a random while more, and says where it is then. */
async function reachKillMoment(id: string, phase: KillPhase): Promise<Deployment> {
  const someOf = (deployment: Deployment, batch: number) =>
    deployment.node_deployments.some((node) => node.batch === batch && node.status !== 'pending');
  switch (phase) {
    case 'build':
      // The demo application builds in well under a second, and MongoDB hears of the build
      // (an activity of its own) when it has begun.
      await waitForStoredDeployment(
        stack.testStore.store,
        id,
        (current) => current.status !== 'pending',
        60_000,
      );
      await delay(random() * 300);
      break;
    case 'gray':
      // A machine's deploy takes about a second.
      await waitForStoredDeployment(
        stack.testStore.store,
        id,
        (current) => someOf(current, 0),
        60_000,
      );
      await delay(random() * 800);
      break;
    case 'bake':
      await waitForStoredDeployment(
        stack.testStore.store,
        id,
        (current) => current.status === 'verifying' || someOf(current, 1),
        60_000,
      );
      await delay(random() * app.pacer.gray_bake_seconds * 1000);
      break;
    case 'batches': {
      const batch = 1 + Math.floor(random() * lastBatch);
      await waitForStoredDeployment(
        stack.testStore.store,
        id,
        (current) => someOf(current, batch) || ended(current),
        90_000,
      );
      await delay(random() * 2500);
      break;
    }
    case 'rollback': {
      // Before the last batch, so that the rollback has machines to restore and some to spare.
      const batch = 1 + Math.floor(random() * (lastBatch - 1));
      await waitForStoredDeployment(
        stack.testStore.store,
        id,
        (current) => someOf(current, batch) || ended(current),
        90_000,
      );
      await delay(random() * 1500);
      const response = await stack.app.request(`/api/v1/deployments/${id}/rollback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'chaos: a rollback asked for mid-release' }),
      });
      expect(response.status, await response.clone().text()).toBe(202);
      await waitForStoredDeployment(
        stack.testStore.store,
        id,
        (current) => current.status === 'rolling_back' || ended(current),
        60_000,
      );
      await delay(random() * 500);
      break;
    }
  }
  return await deployment(id);
}

beforeAll(async () => {
  [stack, repo, deployPath] = await startTogether([
    startReleaseStack({ worker: false }),
    createDemoRepo(versions.map((tag) => ({ tag }))),
    mkdtemp(path.join(os.tmpdir(), 'relguard-machines-')),
  ]);
  for (let index = 0; index < machineCount; index++) ports.push(await freePort());
  app = await stack.testStore.store.applications.create({
    ...ApplicationInput.parse({
      name: 'chaos',
      repo,
      deploy_path: deployPath,
      start_cmd: 'node main.js',
      health_check: { path: '/healthz', timeout_seconds: 20 },
      machines: machineIds.map((id, index) => ({ id, host: '127.0.0.1', port: ports[index]! })),
      pacer: {
        batch_size: batchSize,
        max_parallel: batchSize,
        gray_bake_seconds: 2,
        interval_seconds: 1,
      },
      // The metric guard has tests of its own (test/integration/guard.test.ts).
      rollback_policy: { enabled: false, ai_analysis: false },
    }),
  });
  // Every machine runs the first version before the first trial, so that every trial has a
  // version to roll back to.
  worker = await startWorker();
  const id = await startRelease(versions[0]!);
  const first = await waitForStoredDeployment(stack.testStore.store, id, ended, 170_000);
  expect(first.status, first.reason).toBe('succeeded');
  console.log(`worker-kill: ${trials} trial(s), seed ${seed}, phases ${phases.join(', ')}`);
}, 240_000);

afterAll(async () => {
  for (const started of workers) await kill(started, 'SIGKILL');
  await stack?.stopMachines();
  // Processes relguard lost track of survive its stop; the test ends them all the same.
  if (deployPath) {
    for (const group of await machineProcessGroups()) {
      console.warn(`worker-kill: machine process group ${group} outlived the machines' stop`);
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
  await stack?.stop();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
}, 120_000);

describe('a worker killed with SIGKILL at a random moment of a 20-machine release', () => {
  for (const [index, phase] of phases.entries()) {
    const trial = index + 1;
    const version = versions[trial]!;

    it(`trial ${trial}: killed during ${phase}, the release ends as it should`, async () => {
      const before = await stack.testStore.store.applications.get(app.id);
      const previous = before.currentVersion;
      const previousStarts = await Promise.all(machineIds.map((id) => starts(id, previous)));
      const startedAt = Date.now();

      const id = await startRelease(version);
      const moment = await reachKillMoment(id, phase);
      await kill(worker, 'SIGKILL');
      worker = await startWorker();
      const done = await waitForStoredDeployment(stack.testStore.store, id, ended, 200_000);

      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      console.log(
        `worker-kill trial ${trial}/${trials} (seed ${seed}): aimed at ${phase}, killed in ` +
          `${describeMoment(moment)}; ${done.status} after ${seconds} s`,
      );

      const rolledBack = phase === 'rollback';
      expect(done.status, done.reason).toBe(rolledBack ? 'rolled_back' : 'succeeded');
      const expected = rolledBack ? previous : version;

      // MongoDB agrees with the ending.
      const after = await stack.testStore.store.applications.get(app.id);
      expect(after.currentVersion).toBe(expected);
      if (!rolledBack) expect(after.prev_version).toBe(previous);
      expect(after.active_deployment_id).toBeUndefined();
      for (const machine of after.machines) {
        expect({ id: machine.id, version: machine.version, status: machine.status }).toEqual({
          id: machine.id,
          version: expected,
          status: 'healthy',
        });
      }
      for (const node of done.node_deployments) {
        const allowed = rolledBack ? ['pending', 'rolled_back'] : ['deployed'];
        expect(allowed, `node ${node.machine_id} is ${node.status}`).toContain(node.status);
      }

      // Every machine runs the version it should, started once: the new version at most once,
      // and a machine rolled back restarted the previous version once, one that was not (its
      // deploy never reached the switch) not at all.
      for (const [machineIndex, machineId] of machineIds.entries()) {
        const running = await machineVersion(ports[machineIndex]!);
        const newStarts = await starts(machineId, version);
        const previousRestarts =
          (await starts(machineId, previous)) - previousStarts[machineIndex]!;
        // relguard tracks the process that answers: a process it lost track of (started by a
        // worker killed before it wrote the pid down) is one the next deploy cannot stop.
        const machine = after.machines.find((candidate) => candidate.id === machineId)!;
        const trackedPid = await machines.runningPid({
          app: after,
          machine,
        });
        const tracked =
          trackedPid !== undefined && trackedPid === (await processGroup(running.pid));
        const counts = {
          machineId,
          version: running.version,
          tracked,
          newStarts,
          previousRestarts,
        };
        const report = `running pid ${running.pid}; ${await machineReport(machineId)}`;
        if (rolledBack) {
          expect(newStarts, machineId).toBeLessThanOrEqual(1);
          expect(counts, report).toEqual({
            machineId,
            version: expected,
            tracked: true,
            newStarts,
            previousRestarts: newStarts,
          });
        } else {
          expect(counts, report).toEqual({
            machineId,
            version: expected,
            tracked: true,
            newStarts: 1,
            previousRestarts: 0,
          });
        }
      }
    }, 300_000);
  }
});
