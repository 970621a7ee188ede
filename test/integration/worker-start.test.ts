import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStore, type TestStore } from '../support/mongo';
import { startTemporalServer, type TemporalServer } from '../support/temporal-server';
import { kill, startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import { startTogether } from '../support/start-together';

/**
 * A worker started before its Temporal server (a host booting, a server restarting) waits for
 * it and then runs, instead of exiting for a supervisor to restart.
 */
let temporal: TemporalServer;
let testStore: TestStore;
let workDir: string;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  [temporal, testStore, workDir] = await startTogether([
    startTemporalServer(),
    startTestStore(),
    mkdtemp(path.join(os.tmpdir(), 'relguard-worker-start-')),
  ]);
  await temporal.stop();
}, 180_000);

afterAll(async () => {
  if (worker) await kill(worker, 'SIGKILL');
  await temporal?.dispose();
  await testStore?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('a worker started while Temporal is down', () => {
  it('waits for it, saying so, and starts once it is up', async () => {
    const starting = startWorkerProcess({
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'relguard-worker-start',
      MONGODB_URI: testStore.uri,
      MONGODB_DB: testStore.dbName,
      PACKAGE_STORE: 'local',
      PACKAGE_DIR: path.join(workDir, 'packages'),
      PACKAGE_BASE_URL: 'http://127.0.0.1:1/packages',
      BUILD_DIR: path.join(workDir, 'builds'),
      LOG_LEVEL: 'info',
    });
    // Long enough for several failed connections, each of which used to end the process.
    await delay(5000);
    await temporal.restart();
    worker = await starting;
    expect(worker.exited()).toBe(false);
    expect(worker.output()).toContain(`Temporal at ${temporal.address} cannot be reached`);
  }, 120_000);
});
