import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application, AuditEntry, Deployment } from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startFerretDB, startTestStore, type FerretDB } from '../support/mongo';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { machineVersions, releaseCalls } from '../support/release-calls';
import { startTogether } from '../support/start-together';

/**
 * MongoDB stops in the middle of a release (its FerretDB, stopped and started again on the same
 * port and data): while it is down the api answers 503 with the error envelope and /healthz says
 * so; the release's machine activities wait for it (they do not spend the machine's attempts on
 * the database), and once it is back the release completes with nothing it had recorded lost.
 */
let stack: ReleaseStack;
let ferret: FerretDB;
let repo: string;
let deployPath: string;
let app: Application;
const ports: number[] = [];
const { api, waitForStatus } = releaseCalls(() => stack.app);

/** The release's deployMachine activity in flight, with its attempt and last heartbeat. */
async function pendingDeploy(
  workflowId: string,
): Promise<{ attempt: number; failed: boolean; heartbeat: unknown } | undefined> {
  const { raw } = await stack.temporal.client.workflow.getHandle(workflowId).describe();
  const deploy = (raw.pendingActivities ?? []).find(
    (activity) => activity.activityType?.name === 'deployMachine',
  );
  if (deploy === undefined) return undefined;
  const [details] = deploy.heartbeatDetails?.payloads ?? [];
  return {
    attempt: deploy.attempt ?? 0,
    failed: deploy.lastFailure !== undefined && deploy.lastFailure !== null,
    heartbeat: details === undefined ? undefined : defaultPayloadConverter.fromPayload(details),
  };
}

beforeAll(async () => {
  ferret = await startFerretDB();
  [stack, repo, deployPath] = await startTogether([
    startReleaseStack({ testStore: startTestStore({ ferret }) }),
    createDemoRepo([{ tag: 'v1.0.0' }, { tag: 'v1.1.0' }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-machines-')),
  ]);
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  const created = await api<Application>('POST', '/api/v1/applications', {
    name: 'shop',
    repo,
    deploy_path: deployPath,
    start_cmd: 'node main.js',
    health_check: { path: '/healthz', timeout_seconds: 20 },
    machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
    pacer: { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 1 },
    // No Prometheus here: the guard has its own outage test (prometheus-outage.test.ts).
    rollback_policy: { enabled: false },
  });
  expect(created.status).toBe(201);
  app = created.body;
}, 240_000);

afterAll(async () => {
  // The database may be what failed: bring it back so the machines can be found and stopped.
  await ferret?.restart();
  await stack?.stopMachines();
  await stack?.stop();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

describe('MongoDB stops during a release', () => {
  it('answers 503 while it is down, and the release completes with nothing lost once it is back', async () => {
    const first = await api<Deployment>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v1.0.0',
    });
    expect(first.status).toBe(202);
    expect(
      (await waitForStatus(first.body.id, ['succeeded', 'failed', 'rolled_back'])).status,
    ).toBe('succeeded');

    // A bake long enough to stop the database in, short enough that the next batch's deploy
    // runs while it is down.
    const paced = await api('PUT', `/api/v1/applications/${app.id}`, {
      pacer: { batch_size: 1, gray_bake_seconds: 3, interval_seconds: 1 },
    });
    expect(paced.status).toBe(200);
    const started = await api<Deployment & { workflow_id: string }>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v1.1.0',
      requested_by: 'alice',
    });
    expect(started.status).toBe(202);
    const id = started.body.id;
    await waitForStatus(id, ['verifying']);

    await ferret.stop();
    const [applications, deployment, release, health] = await Promise.all([
      api<{ error: { code: string; message: string } }>('GET', '/api/v1/applications'),
      api<{ error: { code: string; message: string } }>('GET', `/api/v1/deployments/${id}`),
      api<{ error: { code: string; message: string } }>('POST', '/api/v1/deployments', {
        app_id: app.id,
        package_version: 'v1.0.0',
      }),
      api<{ status: string; temporal: string; mongo: string }>('GET', '/healthz'),
    ]);
    for (const answer of [applications, deployment, release]) {
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('unavailable');
      expect(answer.body.error.message).toMatch(/database \(MongoDB\) is unavailable/);
    }
    expect(health).toEqual({
      status: 503,
      body: { status: 'error', temporal: 'ok', mongo: 'error' },
    });

    // Down for longer than a machine's three attempts, 2 s and 4 s apart, would last: the
    // deploy due meanwhile waits for the store, heartbeating, instead of failing the machine.
    let waiting: Awaited<ReturnType<typeof pendingDeploy>>;
    const deadline = Date.now() + 30_000;
    do {
      await delay(200);
      waiting = await pendingDeploy(started.body.workflow_id);
    } while (
      !String(waiting?.heartbeat).includes('waiting for the store') &&
      Date.now() < deadline
    );
    expect(waiting?.heartbeat).toMatch(/^waiting for the store to /);
    await delay(12_000);
    expect(await pendingDeploy(started.body.workflow_id)).toMatchObject({
      attempt: 1,
      failed: false,
    });
    await ferret.restart();

    const done = await waitForStatus(id, ['succeeded', 'failed', 'rolled_back']);
    expect(done.status).toBe('succeeded');
    expect(done.actions?.[0]).toMatchObject({ action: 'start', by: 'test-admin for alice' });
    expect(done.node_deployments.map((node) => [node.machine_id, node.status])).toEqual([
      ['m1', 'deployed'],
      ['m2', 'deployed'],
      ['m3', 'deployed'],
    ]);
    expect((await machineVersions(ports)).map((machine) => machine.version)).toEqual([
      'v1.1.0',
      'v1.1.0',
      'v1.1.0',
    ]);
    const after = await api<Application>('GET', `/api/v1/applications/${app.id}`);
    expect(after.body).toMatchObject({
      currentVersion: 'v1.1.0',
      prev_version: 'v1.0.0',
      health_count: 3,
    });
    expect(after.body.active_deployment_id).toBeUndefined();
    expect(after.body.machines.map((machine) => machine.version)).toEqual([
      'v1.1.0',
      'v1.1.0',
      'v1.1.0',
    ]);

    // Both releases are there, the first one as it ended, and the refused one was never made.
    const listed = await api<{ items: Deployment[] }>(
      'GET',
      `/api/v1/deployments?app_id=${app.id}`,
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item) => [item.package_version, item.status]).sort()).toEqual([
      ['v1.0.0', 'succeeded'],
      ['v1.1.0', 'succeeded'],
    ]);
    // The audit log still has both release starts, and nothing of the writes it refused.
    const audit = await api<{ items: AuditEntry[] }>('GET', '/api/v1/audit');
    const releaseStarts = audit.body.items.filter(
      (entry) => entry.method === 'POST' && entry.path === '/api/v1/deployments',
    );
    expect(releaseStarts.map((entry) => entry.status)).toEqual([202, 202]);
    expect(await api('GET', '/healthz')).toMatchObject({ status: 200 });
  });
});
