import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePackagePath } from '../../activities/package-store/local';
import {
  packageInfoOf,
  statusSearchAttribute,
  type Application,
  type Deployment,
  type DeploymentStatus,
} from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { machineVersions, releaseCalls } from '../support/release-calls';
import { startTogether } from '../support/start-together';

/**
 * A release for real: the demo application (the mockserver, built from the tags of a git
 * repository) onto three machines that are processes on this host, through the api, the
 * release workflow on a Temporal dev server, the local package store and platform.
 */
const execFileAsync = promisify(execFile);
let stack: ReleaseStack;
let repo: string;
let deployPath: string;
let app: Application;
const ports: number[] = [];

const { api, waitForStatus } = releaseCalls(() => stack.app);

/** What each machine says it runs, asked over HTTP. */
async function runningVersions(): Promise<(string | undefined)[]> {
  return (await machineVersions(ports)).map((machine) => machine.version);
}

/**
 * The ids of the workflows the dev server's visibility lists for `query`, polled until they are
 * `expected` (visibility is eventually consistent) or 20 s have passed.
 */
async function listedWorkflows(query: string, expected: string[]): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ids: string[] = [];
    for await (const execution of stack.temporal.client.workflow.list({ query })) {
      ids.push(execution.workflowId);
    }
    ids.sort();
    if (JSON.stringify(ids) === JSON.stringify([...expected].sort()) || Date.now() > deadline) {
      return ids;
    }
    await delay(250);
  }
}

/** A visibility query for the releases of shop at `version` whose status is `status`. */
const releasesOfShop = (version: string, status: DeploymentStatus) =>
  `RelguardApp = 'shop' AND RelguardVersion = '${version}' AND RelguardStatus = '${status}'`;

/** The statuses a release upserted as its RelguardStatus search attribute, in its history. */
async function upsertedStatuses(workflowId: string): Promise<string[]> {
  const history = await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes;
    const data = fields?.indexedFields?.[statusSearchAttribute.name]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString()) as string] : [];
  });
}

async function startRelease(version: string, extra: Record<string, unknown> = {}) {
  return await api<Deployment & { workflow_id: string; error?: { message: string } }>(
    'POST',
    '/api/v1/deployments',
    { app_id: app.id, package_version: version, requested_by: 'test', ...extra },
  );
}

beforeAll(async () => {
  [stack, repo, deployPath] = await startTogether([
    startReleaseStack(),
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
    // The metric guard has tests of its own (test/integration/guard.test.ts).
    rollback_policy: { enabled: false },
  });
  expect(created.status).toBe(201);
  app = created.body;
}, 240_000);

afterAll(async () => {
  await stack?.stopMachines();
  await stack?.stop();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

describe('a release on three local machines', () => {
  it('builds v1.0.0 from its tag and puts it on every machine', async () => {
    const started = await startRelease('v1.0.0');
    expect(started.status).toBe(202);
    expect(started.body.workflow_id).toBe(`release-shop-${started.body.id}`);
    expect(started.body.node_deployments.map((node) => [node.machine_id, node.batch])).toEqual([
      ['m1', 0],
      ['m2', 1],
      ['m3', 2],
    ]);

    const done = await waitForStatus(started.body.id, ['succeeded', 'failed', 'rolled_back']);
    expect(done.status).toBe('succeeded');
    expect(done.node_deployments.map((node) => node.status)).toEqual([
      'deployed',
      'deployed',
      'deployed',
    ]);
    expect(done.package?.md5).toMatch(/^[a-f0-9]{32}$/);
    expect(done.package?.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(await runningVersions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
    // No package of v1.0.0 yet: the release built one (the reuse test below sees no 'building').
    expect(await upsertedStatuses(started.body.workflow_id)).toContain('building');

    const after = await api<Application>('GET', `/api/v1/applications/${app.id}`);
    expect(after.body).toMatchObject({
      currentVersion: 'v1.0.0',
      prev_version: '',
      health_count: 3,
    });
    expect(after.body.active_deployment_id).toBeUndefined();
    expect(after.body.machines.map((machine) => machine.version)).toEqual([
      'v1.0.0',
      'v1.0.0',
      'v1.0.0',
    ]);
    const packages = await api<{ items: { version: string; url: string; key: string }[] }>(
      'GET',
      `/api/v1/applications/${app.id}/packages`,
    );
    expect(packages.body.items.map((pkg) => pkg.version)).toEqual(['v1.0.0']);
    // The machines downloaded it through URLs signed at deploy time: the recorded URL, unsigned,
    // is refused, and a URL the store signs now is served.
    const unsigned = await fetch(packages.body.items[0]!.url);
    expect(unsigned.status).toBe(401);
    await unsigned.body?.cancel();
    const signed = await stack.activityDeps.deps.packageStore.downloadUrl(
      packages.body.items[0]!.key,
      60,
    );
    expect(new URL(signed).searchParams.get('signature')).toMatch(/^[0-9a-f]{64}$/);
    const download = await fetch(signed);
    expect(download.status).toBe(200);
    expect(Number(download.headers.get('content-length'))).toBe(done.package?.size);
  });

  it('refuses a second release while one runs, and rolls v1.1.0 back mid-release', async () => {
    const updated = await api('PUT', `/api/v1/applications/${app.id}`, {
      pacer: { batch_size: 1, gray_bake_seconds: 600, interval_seconds: 1 },
    });
    expect(updated.status).toBe(200);

    const started = await startRelease('v1.1.0');
    expect(started.status).toBe(202);
    const second = await startRelease('v1.1.0');
    expect(second.status).toBe(409);
    expect(second.body.error?.message).toContain(started.body.id);

    // The gray machine runs v1.1.0 and bakes; the others still run v1.0.0.
    await waitForStatus(started.body.id, ['verifying']);
    expect(await runningVersions()).toEqual(['v1.1.0', 'v1.0.0', 'v1.0.0']);
    // The Temporal UI finds the release by application, version and its status while it bakes.
    const workflowId = started.body.workflow_id;
    expect(await listedWorkflows(releasesOfShop('v1.1.0', 'verifying'), [workflowId])).toEqual([
      workflowId,
    ]);
    const resume = await api('POST', `/api/v1/deployments/${started.body.id}/resume`, {});
    expect(resume.status).toBe(409);

    const rollback = await api('POST', `/api/v1/deployments/${started.body.id}/rollback`, {
      reason: 'error rate on /api/pay',
      requested_by: 'alice',
    });
    expect(rollback.status).toBe(202);
    const done = await waitForStatus(started.body.id, ['rolled_back', 'failed', 'succeeded']);
    expect(done.status).toBe('rolled_back');
    expect(done.reason).toBe('error rate on /api/pay');
    expect(done.node_deployments.map((node) => node.status)).toEqual([
      'rolled_back',
      'pending',
      'pending',
    ]);
    expect(await runningVersions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
    const after = await api<Application>('GET', `/api/v1/applications/${app.id}`);
    expect(after.body.currentVersion).toBe('v1.0.0');
    // ... and by its final status once it has ended; the same record no longer says verifying.
    expect(await listedWorkflows(releasesOfShop('v1.1.0', 'rolled_back'), [workflowId])).toEqual([
      workflowId,
    ]);
    expect(await listedWorkflows(releasesOfShop('v1.1.0', 'verifying'), [])).toEqual([]);

    const late = await api('POST', `/api/v1/deployments/${started.body.id}/pause`, {});
    expect(late.status).toBe(409);
  });

  it('fails a release of a tag that does not exist, and no machine changes', async () => {
    const started = await startRelease('v9.9.9');
    expect(started.status).toBe(202);
    const done = await waitForStatus(started.body.id, ['failed', 'rolled_back', 'succeeded']);
    expect(done.status).toBe('failed');
    expect(done.reason).toMatch(/v9\.9\.9/);
    expect(await runningVersions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
    // The slot is free again: the next release may start.
    const after = await api<Application>('GET', `/api/v1/applications/${app.id}`);
    expect(after.body.active_deployment_id).toBeUndefined();
  });

  it('builds a package on request, once per version', async () => {
    const build = await api<{ workflow_id: string }>('POST', '/api/v1/packages', {
      app_id: app.id,
      version: 'v1.1.0',
    });
    // v1.1.0 was built by the release that was rolled back: it exists already.
    expect(build.status).toBe(200);
    expect(build.body).toMatchObject({ version: 'v1.1.0', app_name: 'shop' });

    await execFileAsync('git', ['-C', repo, 'tag', 'v1.2.0']);
    const buildDir = stack.activityDeps.deps.buildDir;
    const buildDirBefore = await stat(buildDir, { bigint: true });
    const started = await api<{ workflow_id: string }>('POST', '/api/v1/packages', {
      app_id: app.id,
      version: 'v1.2.0',
    });
    expect(started.status).toBe(202);
    expect(started.body.workflow_id).toBe(`package-${app.id}-v1.2.0`);
    await stack.temporal.client.workflow.getHandle(started.body.workflow_id).result();
    const packages = await api<{ items: { version: string }[] }>(
      'GET',
      `/api/v1/applications/${app.id}/packages`,
    );
    expect(packages.body.items.map((pkg) => pkg.version).sort()).toEqual([
      'v1.0.0',
      'v1.1.0',
      'v1.2.0',
    ]);
    // A build works in a folder of its own under the build dir and removes it: the dir changed.
    expect((await stat(buildDir, { bigint: true })).mtimeNs).not.toBe(buildDirBefore.mtimeNs);
  });

  it('releases v1.2.0 with the package built on request: reused, not built again', async () => {
    // The pacing has tests of its own: the gray machine, then the other two at once.
    const updated = await api('PUT', `/api/v1/applications/${app.id}`, {
      pacer: { batch_size: 2, gray_bake_seconds: 0, interval_seconds: 0 },
    });
    expect(updated.status).toBe(200);
    const { store } = stack.testStore;
    const recorded = await store.packages.findByVersion(app.id, 'v1.2.0');
    if (recorded === undefined) throw new Error('the previous test built no package of v1.2.0');
    const packageFile = resolvePackagePath(stack.activityDeps.packageDir, recorded.key);
    if (packageFile === undefined) throw new Error(`package key ${recorded.key} leaves the store`);
    const fileBefore = await stat(packageFile, { bigint: true });
    const buildDir = stack.activityDeps.deps.buildDir;
    const buildDirBefore = await stat(buildDir, { bigint: true });
    // Its digests (MD5 and SHA-256) and commit with it.
    const packageInfo = packageInfoOf(recorded);

    const started = await startRelease('v1.2.0');
    expect(started.status).toBe(202);
    // The api found the package: the deployment carries it from the start.
    expect(started.body.package).toEqual(packageInfo);
    const done = await waitForStatus(started.body.id, ['succeeded', 'failed', 'rolled_back']);
    expect(done.status).toBe('succeeded');
    expect(done.package).toEqual(packageInfo);
    expect(await runningVersions()).toEqual(['v1.2.0', 'v1.2.0', 'v1.2.0']);

    // Not rebuilt: the record (its id, time, MD5) and the stored file (a store writes a new file
    // and renames it over the old) are the ones from before, and no build folder came and went.
    expect(await store.packages.findByVersion(app.id, 'v1.2.0')).toEqual(recorded);
    const fileAfter = await stat(packageFile, { bigint: true });
    expect([fileAfter.ino, fileAfter.mtimeNs]).toEqual([fileBefore.ino, fileBefore.mtimeNs]);
    expect((await stat(buildDir, { bigint: true })).mtimeNs).toBe(buildDirBefore.mtimeNs);
    expect(await readdir(buildDir)).toEqual([]);
    const statuses = await upsertedStatuses(started.body.workflow_id);
    expect(statuses).not.toContain('building');
    expect(statuses.at(-1)).toBe('succeeded');
    expect(
      await listedWorkflows(releasesOfShop('v1.2.0', 'succeeded'), [started.body.workflow_id]),
    ).toEqual([started.body.workflow_id]);
  });

  it('answers bad release requests with the field or the thing named', async () => {
    const unknownApp = await api<{ error: { code: string } }>('POST', '/api/v1/deployments', {
      app_id: '0'.repeat(24),
      package_version: 'v1.0.0',
    });
    expect(unknownApp.status).toBe(404);
    const unknownGray = await startRelease('v1.0.0', { gray_machine_id: 'm9' });
    expect(unknownGray.status).toBe(422);
    expect(unknownGray.body.error?.message).toContain('m9');
    const noVersion = await api<{ error: { details: { field: string }[] } }>(
      'POST',
      '/api/v1/deployments',
      { app_id: app.id },
    );
    expect(noVersion.status).toBe(422);
    expect(noVersion.body.error.details.map((d) => d.field)).toEqual(['package_version']);
    const unknownDeployment = await api('POST', `/api/v1/deployments/${'0'.repeat(24)}/pause`, {});
    expect(unknownDeployment.status).toBe(404);

    // An application without a repo can only release versions whose package was uploaded.
    const uploadOnly = await api<Application>('POST', '/api/v1/applications', {
      name: 'upload-only',
      deploy_path: deployPath,
      start_cmd: 'node main.js',
      machines: [{ id: 'u1', host: '127.0.0.1', port: await freePort() }],
    });
    expect(uploadOnly.status).toBe(201);
    const noPackage = await api<{ error: { message: string } }>('POST', '/api/v1/deployments', {
      app_id: uploadOnly.body.id,
      package_version: 'v1.0.0',
    });
    expect(noPackage.status).toBe(422);
    expect(noPackage.body.error.message).toMatch(/no package of v1\.0\.0 and no repo/);
    const uploadOnlyAfter = await api<Application>(
      'GET',
      `/api/v1/applications/${uploadOnly.body.id}`,
    );
    expect(uploadOnlyAfter.body.active_deployment_id).toBeUndefined();
  });
});
