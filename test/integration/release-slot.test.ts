import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from '@temporalio/client';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../activities/db';
import type { DeploymentRepository } from '../../activities/db/deployments';
import { createLogger } from '../../activities/logger';
import { createApp, type ApiOptions } from '../../api/app';
import { fenceWorkflowType, temporalReleases, type Releases } from '../../api/releases';
import { ApplicationInput, releaseWorkflowId, type Deployment } from '../../domain';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { startTogether } from '../support/start-together';
import { startDevServer } from '../support/temporal';

/**
 * One release per application, on a real Temporal dev server and real FerretDB: several api
 * instances (each with its own MongoDB connection and Temporal client, as separate api
 * processes have) receive 20 POST /api/v1/deployments for one application at once. Exactly
 * one starts a release; every other answer is 409 naming it. No worker runs, so a started
 * release workflow stays RUNNING for the test to count.
 */
let temporal: TestWorkflowEnvironment;
let testStore: TestStore;
const extraStores: Store[] = [];
const taskQueue = 'relguard-slot-test';
let appNumber = 0;

beforeAll(async () => {
  [temporal, testStore] = await startTogether([startDevServer(), startTestStore()]);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(extraStores.map((store) => store.close()));
  await testStore?.close();
  await temporal?.teardown();
});

interface ApiInstance {
  api: TestApi;
  releases: Releases;
}

/** An api as a process of its own would have it: its own MongoClient and Temporal client. */
async function apiInstance(
  wrap: (releases: Releases) => Releases = (releases) => releases,
  options: Partial<ApiOptions> = {},
  wrapStore: (store: Store) => Store = (store) => store,
): Promise<ApiInstance> {
  const own = openStore({ uri: testStore.uri, dbName: testStore.dbName, timeoutMs: 5000 });
  extraStores.push(own);
  const store = wrapStore(own);
  const real = temporalReleases({
    client: new Client({ connection: temporal.connection, namespace: 'default' }),
    taskQueue,
    namespace: 'default',
    uiUrl: 'http://127.0.0.1:8233',
  });
  // No worker answers a progress query (it would wait for one): the view goes without it.
  const releases = wrap({ ...real, progress: () => Promise.resolve(undefined) });
  const app = createApp({
    store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'silent'),
    ...options,
  });
  return {
    api: withToken(app, await tokenFor(store, 'deployer', `deployer-${appNumber}`)),
    releases,
  };
}

async function newApplication(): Promise<{ id: string; name: string }> {
  appNumber += 1;
  const name = `slot-${appNumber}`;
  const app = await testStore.store.applications.create(
    ApplicationInput.parse({
      name,
      // Never built: no worker runs. A repo makes a version without a package releasable.
      repo: `https://github.com/example/${name}`,
      deploy_path: '/srv/x',
      start_cmd: 'node main.js',
      machines: [
        { id: 'm1', host: '127.0.0.1', port: 4001 },
        { id: 'm2', host: '127.0.0.1', port: 4002 },
      ],
    }),
  );
  return { id: app.id, name: app.name };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function postRelease(api: TestApi, appId: string, version: string): Promise<Answer> {
  const response = await api.request('/api/v1/deployments', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: appId, package_version: version }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** 20 POSTs at once, spread over the instances. */
async function race(instances: ApiInstance[], appId: string): Promise<Answer[]> {
  return await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      postRelease(instances[i % instances.length]!.api, appId, `v1.0.${i}`),
    ),
  );
}

/** The release workflows of `app` that run, by describing each deployment's own workflow id. */
async function runningReleases(app: { id: string; name: string }): Promise<string[]> {
  const deployments = await testStore.store.deployments.list({ app_id: app.id });
  const running: string[] = [];
  for (const deployment of deployments) {
    const description = await temporal.client.workflow
      .getHandle(releaseWorkflowId(app.name, deployment.id))
      .describe()
      .catch(() => undefined);
    if (description?.status.name === 'RUNNING' && description.type === 'releaseWorkflow') {
      running.push(deployment.id);
    }
  }
  return running;
}

/** Exactly one answer started a release; the other 19 are 409 naming it. */
function expectOneWinner(answers: Answer[]): string {
  const started = answers.filter((answer) => answer.status === 202);
  const refused = answers.filter((answer) => answer.status === 409);
  expect(
    answers.map((answer) => answer.status).sort(),
    JSON.stringify(answers.filter((answer) => answer.status !== 202 && answer.status !== 409)),
  ).toEqual([202, ...Array<number>(19).fill(409)]);
  const winner = started[0]!.body.id as string;
  for (const answer of refused) {
    const error = answer.body.error as { code: string; message: string; details?: unknown };
    expect(error.code).toBe('conflict');
    expect(error.details).toEqual({ deployment_id: winner });
    expect(error.message).toContain(winner);
  }
  return winner;
}

/** A promise and what resolves it: a point a stalled request waits at, or reports reaching. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** The store of an api whose `deployments.create` waits for `until` (a request that stalls). */
function stallingCreate(reached: () => void, until: Promise<void>) {
  return (store: Store): Store => {
    const deployments = new Proxy(store.deployments, {
      get(target, method) {
        if (method === 'create') {
          return async (...args: Parameters<DeploymentRepository['create']>) => {
            reached();
            await until;
            return await target.create(...args);
          };
        }
        const value = Reflect.get(target, method, target) as unknown;
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    return { ...store, deployments };
  };
}

/** Sleeps until the deployment was created `ms` ago. */
async function olderThan(deployment: Deployment, ms: number): Promise<void> {
  const wait = deployment.createdTime + ms + 50 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

describe('one release per application', () => {
  it('20 concurrent POSTs start exactly one release; the other 19 are 409 naming it', async () => {
    const instances = await Promise.all([apiInstance(), apiInstance(), apiInstance()]);
    // Five applications, one race each: a race lost by luck on one is won on another.
    for (let round = 0; round < 5; round++) {
      const app = await newApplication();

      const answers = await race(instances, app.id);

      const winner = expectOneWinner(answers);
      expect(await runningReleases(app)).toEqual([winner]);
      const stored = await testStore.store.applications.get(app.id);
      expect(stored.active_deployment_id).toBe(winner);
      // Temporal's own list agrees: one release workflow of the application runs.
      await expect
        .poll(() =>
          temporal.client.workflow.count(
            `RelguardApp = "${app.name}" AND ExecutionStatus = "Running"`,
          ),
        )
        .toMatchObject({ count: 1 });
      const deployments = await testStore.store.deployments.list({ app_id: app.id });
      expect(deployments.map((deployment) => deployment.id)).toEqual([winner]);
    }
  }, 120_000);

  it('an api killed between claim and start: the next 20 POSTs, one takes the slot over and cancels the stale release', async () => {
    const graceMs = 8000;
    // The first api dies at its call to Temporal: the claim and the pending deployment are
    // written, its start never happens and nothing of it runs on (as with SIGKILL there).
    let reachedStart!: (deployment: Deployment) => void;
    const atStart = new Promise<Deployment>((resolve) => (reachedStart = resolve));
    let realStart: Releases['start'] | undefined;
    const killed = await apiInstance((releases) => {
      realStart = (deployment) => releases.start(deployment);
      return {
        ...releases,
        start: (deployment) => {
          reachedStart(deployment);
          return new Promise<never>(() => undefined);
        },
      };
    });
    const instances = await Promise.all(
      [1, 2, 3].map(() => apiInstance(undefined, { releaseStartGraceMs: graceMs })),
    );
    const app = await newApplication();
    void postRelease(killed.api, app.id, 'v0.9.0');
    const stale = await atStart;

    // What the crash leaves: the slot claimed, the deployment pending, no workflow.
    expect((await testStore.store.applications.get(app.id)).active_deployment_id).toBe(stale.id);
    expect((await testStore.store.deployments.get(stale.id)).status).toBe('pending');
    await expect(
      temporal.client.workflow.getHandle(releaseWorkflowId(app.name, stale.id)).describe(),
    ).rejects.toThrow(/not found/i);

    // Within the grace the claim may still be starting: refused, naming it.
    const early = await postRelease(instances[0]!.api, app.id, 'v1.0.0');
    expect(early.status).toBe(409);
    expect((early.body.error as { details: unknown }).details).toEqual({
      deployment_id: stale.id,
    });

    await olderThan(stale, graceMs);
    const answers = await race(instances, app.id);

    const winner = expectOneWinner(answers);
    expect(await runningReleases(app)).toEqual([winner]);
    expect((await testStore.store.applications.get(app.id)).active_deployment_id).toBe(winner);
    const cancelled = await testStore.store.deployments.get(stale.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.reason).toMatch(/never started/);
    expect(cancelled.reason).toContain(winner);

    // The killed api's start, had it been in flight, lands now: Temporal refuses it, and one
    // release still runs.
    await expect(realStart!(stale)).rejects.toThrow(/cannot start/);
    expect(await runningReleases(app)).toEqual([winner]);
    const fenced = await temporal.client.workflow
      .getHandle(releaseWorkflowId(app.name, stale.id))
      .describe();
    expect(fenced.status.name).toBe('TERMINATED');
    expect(fenced.type).toBe(fenceWorkflowType);
  }, 120_000);

  it('a slot held by a release whose workflow was terminated goes to exactly one of 20 POSTs', async () => {
    const instances = await Promise.all([apiInstance(), apiInstance(), apiInstance()]);
    const app = await newApplication();
    const first = await postRelease(instances[0].api, app.id, 'v0.9.0');
    expect(first.status).toBe(202);
    const terminatedId = first.body.id as string;
    await temporal.client.workflow
      .getHandle(releaseWorkflowId(app.name, terminatedId))
      .terminate('stopped from the Temporal UI');

    const answers = await race(instances, app.id);

    const winner = expectOneWinner(answers);
    expect(winner).not.toBe(terminatedId);
    expect(await runningReleases(app)).toEqual([winner]);
    expect((await testStore.store.applications.get(app.id)).active_deployment_id).toBe(winner);
    const cancelled = await testStore.store.deployments.get(terminatedId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.reason).toMatch(/ended \(TERMINATED\)/);
    expect(cancelled.reason).toContain(winner);
  }, 120_000);
  it('a request that stalls past the grace before recording its deployment: superseded, its deployment is cancelled and its 409 names the release that took the slot', async () => {
    const graceMs = 2000;
    const reached = gate();
    const resume = gate();
    const stalled = await apiInstance(
      undefined,
      {},
      stallingCreate(() => reached.open(), resume.promise),
    );
    const taker = await apiInstance(undefined, { releaseStartGraceMs: graceMs });
    const app = await newApplication();

    const superseded = postRelease(stalled.api, app.id, 'v0.9.0');
    await reached.promise;
    // The slot is claimed and no deployment is recorded yet.
    const staleId = (await testStore.store.applications.releaseHolder(app.id))!;
    expect(await testStore.store.deployments.find(staleId)).toBeUndefined();
    // Past the grace (the claim's ObjectId counts whole seconds: one more), it is taken over.
    const claimed = new ObjectId(staleId).getTimestamp().getTime() + 1000;
    await new Promise((resolve) => setTimeout(resolve, claimed + graceMs + 200 - Date.now()));
    const took = await postRelease(taker.api, app.id, 'v1.0.0');
    expect(took.status, JSON.stringify(took.body)).toBe(202);
    const winner = took.body.id as string;

    // The stalled request goes on: it records its deployment, Temporal refuses its start.
    resume.open();
    const answer = await superseded;
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect((answer.body.error as { details: unknown }).details).toEqual({
      deployment_id: winner,
    });
    const stale = await testStore.store.deployments.get(staleId);
    expect(stale.status).toBe('cancelled');
    expect(stale.reason).toContain(`superseded by ${winner} before it started`);
    expect(await runningReleases(app)).toEqual([winner]);
    expect((await testStore.store.applications.get(app.id)).active_deployment_id).toBe(winner);
  }, 60_000);

  it('a start Temporal refuses (its id fenced) while no release holds the slot: 503 to retry, not a 409 naming the dead release, and a cancellation recorded meanwhile stays', async () => {
    const reachedStart = gate<Deployment>();
    const resume = gate();
    const stalled = await apiInstance((releases) => ({
      ...releases,
      start: async (deployment) => {
        reachedStart.open(deployment);
        await resume.promise;
        return await releases.start(deployment);
      },
    }));
    const app = await newApplication();

    const refused = postRelease(stalled.api, app.id, 'v0.9.0');
    const deployment = await reachedStart.promise;
    // Another request judged it stale and closed its workflow id, then died before taking
    // the slot; someone cancelled the pending deployment meanwhile.
    await stalled.releases.fence(deployment, 'a judging request fenced it and stopped');
    await testStore.store.deployments.update(deployment.id, {
      status: 'cancelled',
      reason: 'cancelled by an operator',
    });
    resume.open();

    const answer = await refused;
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    const error = answer.body.error as { code: string; message: string; details?: unknown };
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('try again');
    expect(error.details).toBeUndefined();
    const ended = await testStore.store.deployments.get(deployment.id);
    expect(ended).toMatchObject({ status: 'cancelled', reason: 'cancelled by an operator' });
    expect(await testStore.store.applications.releaseHolder(app.id)).toBeUndefined();

    // The retry it was told to make starts a release.
    const retried = await postRelease(stalled.api, app.id, 'v0.9.0');
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    expect(await runningReleases(app)).toEqual([retried.body.id]);
  }, 60_000);
});
