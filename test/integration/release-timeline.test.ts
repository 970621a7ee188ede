import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../api/context';
import { mountPackageFiles } from '../../api/package-files';
import type { LocalPackageStore } from '../../activities/package-store/local';
import { createReleaseActivities, type ReleaseActivities } from '../../activities/release';
import {
  ApplicationInput,
  type Application,
  type Deployment,
  type ReleaseEvent,
} from '../../domain';
import { releaseTimeline } from '../../domain/release-timeline';
import { testActivityDeps, type TestActivityDeps } from '../support/activity-deps';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startTestStore, type TestStore } from '../support/mongo';
import { startTogether } from '../support/start-together';

/**
 * The release's timeline as the activities record it, for real: the activities a release
 * workflow runs, called in the order it calls them on FerretDB, the local platform deploying
 * the demo application (built from a git repository) onto two machines on this host.
 */
let testStore: TestStore;
let activityDeps: TestActivityDeps;
let activities: ReleaseActivities;
let packages: ServerType;
let repo: string;
let root: string;
let app: Application;

/** Runs one activity as the worker would: with an activity context (heartbeats, cancellation). */
function run<K extends keyof ReleaseActivities>(
  name: K,
  ...args: Parameters<ReleaseActivities[K]>
): ReturnType<ReleaseActivities[K]> {
  const activity = (...input: Parameters<ReleaseActivities[K]>) =>
    (activities[name] as (...a: typeof input) => ReturnType<ReleaseActivities[K]>)(...input);
  return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(
    activity,
    ...args,
  ) as ReturnType<ReleaseActivities[K]>;
}

/** A deployment as the api lays it out: m1 the gray machine (batch 0), m2 batch 1. */
async function newDeployment(version: string, previous: string): Promise<Deployment> {
  return await testStore.store.deployments.create({
    app_name: app.name,
    app_id: app.id,
    status: 'pending',
    package_version: version,
    gray_machine_id: 'm1',
    platform: 'local',
    node_deployments: ['m1', 'm2'].map((machine_id, batch) => ({
      machine_id,
      batch,
      status: 'pending' as const,
      version,
    })),
    previous_version: previous,
  });
}

/** The timeline's steps without their times (asserted apart: in order, never going back). */
async function stepsOf(id: string): Promise<Omit<ReleaseEvent, 'at'>[]> {
  const { timeline = [] } = await testStore.store.deployments.get(id);
  const times = timeline.map((event) => event.at);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  return timeline.map(({ at: _at, ...step }) => step);
}

beforeAll(async () => {
  const [store, demoRepo, folder] = await startTogether([
    startTestStore(),
    createDemoRepo([{ tag: 'v1.0.0' }, { tag: 'v2.0.0' }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-release-timeline-')),
  ]);
  testStore = store;
  repo = demoRepo;
  root = folder;
  const port = await freePort();
  activityDeps = await testActivityDeps(testStore.store, `http://127.0.0.1:${port}/packages`);
  // The machines download their packages from here, as they do from the api.
  const files = new OpenAPIHono<ApiEnv>();
  mountPackageFiles(files, activityDeps.deps.packageStore as LocalPackageStore);
  packages = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: files.fetch, hostname: '127.0.0.1', port }, () =>
      resolve(started),
    );
  });
  expect((packages.address() as AddressInfo).port).toBe(port);
  const [port1, port2] = [await freePort(), await freePort()];
  app = await testStore.store.applications.create(
    ApplicationInput.parse({
      name: 'timeline',
      repo,
      deploy_path: path.join(root, 'machines'),
      start_cmd: 'node main.js',
      health_check: { path: '/healthz', timeout_seconds: 20 },
      machines: [
        { id: 'm1', host: '127.0.0.1', port: port1 },
        { id: 'm2', host: '127.0.0.1', port: port2 },
      ],
    }),
  );
  activities = createReleaseActivities(activityDeps.deps);
  for (const version of ['v1.0.0', 'v2.0.0']) {
    await run('ensurePackage', { appId: app.id, version });
  }
}, 240_000);

afterAll(async () => {
  const current = await testStore?.store.applications.find(app?.id ?? '');
  for (const machine of current?.machines ?? []) {
    await activityDeps.deps.platforms.local.stop({ app: current!, machine }).catch(() => undefined);
  }
  await new Promise((resolve) => (packages ? packages.close(resolve) : resolve(undefined)));
  await activityDeps?.dispose();
  await testStore?.close();
  if (repo) await rm(repo, { recursive: true, force: true });
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the release timeline recorded by the activities', () => {
  it('records a first release that succeeds: statuses and each machine’s deploy, in order', async () => {
    const deployment = await newDeployment('v1.0.0', '');
    const deploymentId = deployment.id;
    await run('recordDeploymentStatus', { deploymentId, status: 'deploying' });
    await run('deployMachine', { deploymentId, machineId: 'm1' });
    await run('recordDeploymentStatus', { deploymentId, status: 'verifying' });
    await run('recordDeploymentStatus', { deploymentId, status: 'deploying' });
    await run('deployMachine', { deploymentId, machineId: 'm2' });
    await run('finishRelease', { deploymentId, status: 'succeeded' });

    expect(await stepsOf(deploymentId)).toEqual([
      { kind: 'status', status: 'deploying' },
      { kind: 'machine', status: 'deploying', machine_id: 'm1', batch: 0, version: 'v1.0.0' },
      { kind: 'machine', status: 'deployed', machine_id: 'm1', batch: 0, version: 'v1.0.0' },
      { kind: 'status', status: 'verifying' },
      { kind: 'status', status: 'deploying' },
      { kind: 'machine', status: 'deploying', machine_id: 'm2', batch: 1, version: 'v1.0.0' },
      { kind: 'machine', status: 'deployed', machine_id: 'm2', batch: 1, version: 'v1.0.0' },
      { kind: 'status', status: 'succeeded' },
    ]);
    const timeline = releaseTimeline(await testStore.store.deployments.get(deploymentId));
    expect(timeline.phases.map((phase) => [phase.kind, phase.batch])).toEqual([
      ['gray', 0],
      ['gray_bake', 0],
      ['batch', 1],
      ['verification', undefined],
    ]);
    expect(timeline.markers.map((marker) => marker.kind)).toEqual([
      'start',
      'gray_deployed',
      'batch',
      'succeeded',
    ]);
    expect(timeline.to).toBeDefined();
  }, 120_000);

  it('records a rollback: both machines back on the previous version, and why', async () => {
    const deployment = await newDeployment('v2.0.0', 'v1.0.0');
    const deploymentId = deployment.id;
    await run('recordDeploymentStatus', { deploymentId, status: 'deploying' });
    await run('deployMachine', { deploymentId, machineId: 'm1' });
    await run('recordDeploymentStatus', { deploymentId, status: 'verifying' });
    await run('recordDeploymentStatus', { deploymentId, status: 'deploying' });
    await run('deployMachine', { deploymentId, machineId: 'm2' });
    const reason = 'error rate 0.4 > 0.05';
    await run('recordDeploymentStatus', { deploymentId, status: 'rolling_back', reason });
    // The workflow rolls the machines back in parallel: their steps share one write.
    await Promise.all(
      ['m1', 'm2'].map((machineId) => run('rollbackMachine', { deploymentId, machineId })),
    );
    await run('finishRelease', {
      deploymentId,
      status: 'rolled_back',
      reason,
      rollback: { reason, requested_by: 'metric-guard', requested_at: Date.now() },
    });

    const steps = await stepsOf(deploymentId);
    expect(steps.slice(0, 8)).toEqual([
      { kind: 'status', status: 'deploying' },
      { kind: 'machine', status: 'deploying', machine_id: 'm1', batch: 0, version: 'v2.0.0' },
      { kind: 'machine', status: 'deployed', machine_id: 'm1', batch: 0, version: 'v2.0.0' },
      { kind: 'status', status: 'verifying' },
      { kind: 'status', status: 'deploying' },
      { kind: 'machine', status: 'deploying', machine_id: 'm2', batch: 1, version: 'v2.0.0' },
      { kind: 'machine', status: 'deployed', machine_id: 'm2', batch: 1, version: 'v2.0.0' },
      { kind: 'status', status: 'rolling_back', reason },
    ]);
    // Each machine goes rolling_back, then rolled_back; the two run at once.
    const rollback = steps.slice(8, 12);
    for (const machineId of ['m1', 'm2']) {
      const own = rollback.filter((step) => step.machine_id === machineId);
      expect(own.map((step) => [step.status, step.version])).toEqual([
        ['rolling_back', 'v1.0.0'],
        ['rolled_back', 'v1.0.0'],
      ]);
    }
    expect(steps.slice(12)).toEqual([{ kind: 'status', status: 'rolled_back', reason }]);

    const timeline = releaseTimeline(await testStore.store.deployments.get(deploymentId));
    expect(timeline.phases.map((phase) => phase.kind)).toEqual([
      'gray',
      'gray_bake',
      'batch',
      'verification',
      'rollback',
    ]);
    expect(timeline.markers.map((marker) => marker.kind)).toEqual([
      'start',
      'gray_deployed',
      'batch',
      'rollback_begun',
      'rollback_done',
    ]);
    const m1 = timeline.lanes.find((lane) => lane.machine_id === 'm1');
    expect(m1?.segments.map((segment) => [segment.state, segment.version])).toEqual([
      ['old', 'v1.0.0'],
      ['deploying', 'v2.0.0'],
      ['new', 'v2.0.0'],
      ['rolling_back', 'v1.0.0'],
      ['rolled_back', 'v1.0.0'],
    ]);
  }, 120_000);

  it('records a failed deploy with its error, and a first release stopped by its rollback', async () => {
    const deployment = await newDeployment('v9.9.9', '');
    const deploymentId = deployment.id;
    await run('recordDeploymentStatus', { deploymentId, status: 'deploying' });
    // There is no package of v9.9.9: the deploy fails, and says so on the timeline.
    await expect(run('deployMachine', { deploymentId, machineId: 'm1' })).rejects.toThrow(
      /no package of version v9\.9\.9/,
    );
    await run('recordDeploymentStatus', { deploymentId, status: 'rolling_back' });
    await run('stopMachine', { deploymentId, machineId: 'm1' });
    await run('finishRelease', { deploymentId, status: 'rolled_back' });

    const steps = await stepsOf(deploymentId);
    expect(steps.map((step) => [step.kind, step.status, step.machine_id, step.version])).toEqual([
      ['status', 'deploying', undefined, undefined],
      ['machine', 'deploying', 'm1', 'v9.9.9'],
      ['machine', 'failed', 'm1', 'v9.9.9'],
      ['status', 'rolling_back', undefined, undefined],
      ['machine', 'rolled_back', 'm1', ''],
      ['status', 'rolled_back', undefined, undefined],
    ]);
    expect(steps[2]?.reason).toMatch(/no package of version v9\.9\.9/);
    const timeline = releaseTimeline(await testStore.store.deployments.get(deploymentId));
    expect(timeline.lanes[0]?.segments.map((segment) => segment.state)).toEqual([
      'old',
      'deploying',
      'failed',
      'rolled_back',
    ]);
  }, 120_000);
});
