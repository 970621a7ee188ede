import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { storeEnvChannels } from '../../activities/db';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics';
import { createApp } from '../../api/app';
import { temporalReleases } from '../../api/releases';
import { connectTemporal } from '../../api/temporal';
import { createWorker } from '../../worker/worker';
import { testActivityDeps, type TestActivityDeps } from './activity-deps';
import { tokenFor, withToken, type TestApi } from './api-token';
import { freePort } from './free-port';
import { startTestStore, type TestStore } from './mongo';
import { startDevServer, workflowBundle } from './temporal';
import { startTogether } from './start-together';

export interface ReleaseStack {
  temporal: TestWorkflowEnvironment;
  testStore: TestStore;
  activityDeps: TestActivityDeps;
  /** The api, called with `adminToken`. */
  app: TestApi;
  /** An admin token of this stack's api. */
  adminToken: string;
  /** The api, served for real: machines download packages from it. */
  apiUrl: string;
  /** The settings a worker process needs to join this stack (see worker/main.ts). */
  workerEnv: Record<string, string>;
  taskQueue: string;
  /** Starts the in-process worker (again, after stopWorker). */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** Stops every machine of every application stored (the local platform's), for afterAll. */
  stopMachines(): Promise<void>;
  stop(): Promise<void>;
}

export interface ReleaseStackOptions {
  /** False: no in-process worker (a test starts worker processes of its own). */
  worker?: boolean;
  /** A Temporal the test controls (for instance one it restarts); by default a dev server. */
  temporal?: Promise<TestWorkflowEnvironment>;
  /** Storage the test controls (for instance one it stops); by default startTestStore(). */
  testStore?: Promise<TestStore>;
  /** A built console (web/build.ts buildConsole) for the api to serve at /console/. */
  consoleDir?: string;
}

/**
 * Everything a release needs, for real, on loopback: a Temporal dev server, MongoDB storage,
 * the api (serving the local package store) and a worker with the real activities.
 */
export async function startReleaseStack(
  options: ReleaseStackOptions & Parameters<typeof testActivityDeps>[2] = {},
): Promise<ReleaseStack> {
  const [temporal, testStore] = await startTogether([
    options.temporal ?? startDevServer(),
    options.testStore ?? startTestStore(),
  ]);
  try {
    return await assembleStack(temporal, testStore, options);
  } catch (error) {
    await Promise.allSettled([testStore.close(), temporal.teardown()]);
    throw error;
  }
}

/** The api and the worker, on a Temporal and a store that have started. */
async function assembleStack(
  temporal: TestWorkflowEnvironment,
  testStore: TestStore,
  options: ReleaseStackOptions & Parameters<typeof testActivityDeps>[2],
): Promise<ReleaseStack> {
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const {
    worker: _worker,
    temporal: _temporal,
    testStore: _testStore,
    consoleDir,
    ...depsOptions
  } = options;
  const activityDeps = await testActivityDeps(testStore.store, `${apiUrl}/packages`, depsOptions);
  const taskQueue = 'relguard-test';
  const health = connectTemporal(
    { TEMPORAL_ADDRESS: temporal.address },
    { timeoutMs: 2000, logger: createLogger('api', 'silent') },
  );
  const adminToken = await tokenFor(testStore.store, 'admin');
  // What the api and the worker do at start with their NOTIFY_CHANNELS (api/main.ts, worker/main.ts).
  await storeEnvChannels(
    testStore.store.notifyChannels,
    depsOptions.notifyChannels ?? {},
    createLogger('api', 'silent'),
  );
  const app = createApp({
    store: testStore.store,
    temporal: health.health,
    releases: temporalReleases({
      client: temporal.client,
      taskQueue,
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:8233',
    }),
    // Only what the api logs as an error: a 500's cause, in the test's output.
    logger: createLogger('api', 'error'),
    // A local store: the api serves its folder at /packages to the URLs the worker signs.
    packageStore: activityDeps.deps.packageStore,
    // The worker's guard and the api's checks of a policy know the same scrape interval.
    scrapeIntervalSeconds: activityDeps.deps.scrapeIntervalSeconds,
    // The console's charts read the Prometheus the worker's guard reads.
    ...(options.prometheusUrl === undefined
      ? {}
      : { prometheus: new PrometheusClient({ url: options.prometheusUrl }) }),
    ...(consoleDir === undefined ? {} : { consoleDir }),
  });
  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () =>
      resolve(started),
    );
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('api not on its port');

  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const stack: ReleaseStack = {
    temporal,
    testStore,
    activityDeps,
    app: withToken(app, adminToken),
    adminToken,
    apiUrl,
    taskQueue,
    workerEnv: {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      MONGODB_URI: testStore.uri,
      MONGODB_DB: testStore.dbName,
      PACKAGE_STORE: 'local',
      PACKAGE_DIR: activityDeps.packageDir,
      PACKAGE_BASE_URL: `${apiUrl}/packages`,
      BUILD_DIR: activityDeps.deps.buildDir,
      LOG_LEVEL: 'info',
    },
    async startWorker() {
      worker = await createWorker({
        connection: temporal.nativeConnection,
        namespace: 'default',
        taskQueue,
        activities: createActivities(activityDeps.deps),
        workflowBundle: await workflowBundle(),
      });
      running = worker.run();
    },
    async stopMachines() {
      const apps = await testStore.store.applications.list();
      await Promise.all(
        apps.flatMap((app) =>
          app.machines.map((machine) => activityDeps.deps.platforms.local.stop({ app, machine })),
        ),
      );
    },
    async stopWorker() {
      worker?.shutdown();
      await running;
      worker = undefined;
    },
    async stop() {
      await stack.stopWorker();
      await new Promise((resolve) => server.close(resolve));
      await health.connection.close();
      await activityDeps.dispose();
      await testStore.close();
      await temporal.teardown();
    },
  };
  if (options.worker !== false) await stack.startWorker();
  return stack;
}
