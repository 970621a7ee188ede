import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KodoPackageStore } from '../../activities/package-store/kodo';
import { resolvePackagePath } from '../../activities/package-store/local';
import { createReleaseActivities } from '../../activities/release';
import type { Application, Deployment, PackageInfo, PackageRecord } from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { startFakeKodo } from '../support/fake-kodo';
import { freePort } from '../support/free-port';
import { machineVersions, releaseCalls } from '../support/release-calls';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { startTogether } from '../support/start-together';

/**
 * One package per application version, for real: the api, the release workflow and the
 * package workflow on a Temporal dev server, the worker's real activities, the local store,
 * a git repository and a machine on this host. The build command makes every build's bytes
 * its own (a time stamp) and waits, up to 5 s, for a second build of the same application to
 * start: two builds of one version always overlap, and always differ.
 */
let stack: ReleaseStack;
let repo: string;
let root: string;
let app: Application;
let port: number;
let buildLog: string;

const { api, waitForStatus } = releaseCalls(() => stack.app);

function digests(bytes: Buffer) {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

async function builds(): Promise<number> {
  return (await readFile(buildLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
}

/** Every file under the application's folder of the package store. */
async function storedFiles(): Promise<string[]> {
  const dir = path.join(stack.activityDeps.packageDir, app.name);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

async function packageOf(version: string): Promise<PackageRecord[]> {
  const { body } = await api<{ items: PackageRecord[] }>(
    'GET',
    `/api/v1/applications/${app.id}/packages`,
  );
  return body.items.filter((item) => item.version === version);
}

beforeAll(async () => {
  [stack, repo, root] = await startTogether([
    startReleaseStack(),
    createDemoRepo([{ tag: 'v1.0.0' }, { tag: 'v2.0.0' }, { tag: 'v3.0.0' }, { tag: 'v4.0.0' }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-package-once-')),
  ]);
  port = await freePort();
  buildLog = path.join(root, 'builds.log');
  await writeFile(buildLog, '');
  const created = await api<Application>('POST', '/api/v1/applications', {
    name: 'once',
    repo,
    deploy_path: path.join(root, 'machines'),
    build_cmd: [
      `echo build >> ${buildLog}`,
      'i=0',
      `while [ "$(wc -l < ${buildLog})" -lt 2 ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done`,
      'date +%s%N > build-stamp.txt',
    ].join('; '),
    start_cmd: 'node main.js',
    health_check: { path: '/healthz', timeout_seconds: 20 },
    machines: [{ id: 'm1', host: '127.0.0.1', port }],
    pacer: { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 1 },
    rollback_policy: { enabled: false },
  });
  expect(created.status).toBe(201);
  app = created.body;
}, 240_000);

afterAll(async () => {
  await stack?.stopMachines();
  await stack?.stop();
  await rm(repo, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

describe('one package per application version', () => {
  it('builds once when a release and a package build of one version start at once', async () => {
    await writeFile(buildLog, '');
    // POST /packages is what a webhook of a tag starts too (releases.buildPackage).
    const [release, build] = await Promise.all([
      api<Deployment & { workflow_id: string }>('POST', '/api/v1/deployments', {
        app_id: app.id,
        package_version: 'v1.0.0',
        requested_by: 'test',
      }),
      api<{ workflow_id: string }>('POST', '/api/v1/packages', {
        app_id: app.id,
        version: 'v1.0.0',
      }),
    ]);
    expect(release.status).toBe(202);
    expect(build.status).toBe(202);
    expect(build.body.workflow_id).toBe(`package-${app.id}-v1.0.0`);

    const built = (await stack.temporal.client.workflow
      .getHandle(build.body.workflow_id)
      .result()) as PackageInfo;
    const done = await waitForStatus(release.body.id, ['succeeded', 'failed', 'rolled_back']);

    // One build ran: the release joined the build the api started (or the api joined its).
    expect(await builds()).toBe(1);
    expect(done.status).toBe('succeeded');
    const packages = await packageOf('v1.0.0');
    expect(packages).toHaveLength(1);
    const [pkg] = packages as [PackageRecord];
    expect(await storedFiles()).toEqual(['once-v1.0.0.tar.gz']);
    const stored = await readFile(resolvePackagePath(stack.activityDeps.packageDir, pkg.key)!);
    expect(digests(stored)).toEqual({ md5: pkg.md5, sha256: pkg.sha256, size: pkg.size });
    expect(pkg.key).toBe(`once/${pkg.sha256}/once-v1.0.0.tar.gz`);
    // Both callers got that package.
    expect(built).toMatchObject({ url: pkg.url, md5: pkg.md5, sha256: pkg.sha256 });
    expect(done.package).toMatchObject({ url: pkg.url, md5: pkg.md5, sha256: pkg.sha256 });
    expect((await machineVersions([port]))[0]?.version).toBe('v1.0.0');
  });

  it('refuses a second build of a version with other bytes, and keeps the stored one', async () => {
    await writeFile(buildLog, '');
    // Two builds outside the single workflow (two workers' activities): the store and the
    // package record are the last line.
    const activities = createReleaseActivities(stack.activityDeps.deps);
    const ensurePackage = (input: { appId: string; version: string }) =>
      activities.ensurePackage(input);
    const attempt = () =>
      new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') })
        .run(ensurePackage, { appId: app.id, version: 'v3.0.0' })
        .then(
          (info) => ({ info }),
          (error: unknown) => ({ error }),
        );

    const outcomes = await Promise.all([attempt(), attempt()]);

    expect(await builds()).toBe(2);
    const won = outcomes.flatMap((outcome) => ('info' in outcome ? [outcome.info] : []));
    const refused = outcomes.flatMap((outcome) => ('error' in outcome ? [outcome.error] : []));
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const [pkg] = (await packageOf('v3.0.0')) as [PackageRecord];
    expect(won[0]).toMatchObject({ md5: pkg.md5, sha256: pkg.sha256 });
    const failure = refused[0] as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe('Conflict');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('once v3.0.0 has a package already');
    expect(failure.message).toContain(`SHA-256 ${pkg.sha256}`);
    const otherSha = /this one has other bytes \(SHA-256 ([0-9a-f]{64})/.exec(failure.message)?.[1];
    expect(otherSha).toMatch(/^[0-9a-f]{64}$/);
    expect(otherSha).not.toBe(pkg.sha256);
    // The recorded package's object is untouched: its bytes are still the recorded ones.
    const stored = await readFile(resolvePackagePath(stack.activityDeps.packageDir, pkg.key)!);
    expect(digests(stored)).toEqual({ md5: pkg.md5, sha256: pkg.sha256, size: pkg.size });
  });

  it('never deploys a package whose stored bytes were changed after it was built', async () => {
    await writeFile(buildLog, '');
    const build = await api<{ workflow_id: string }>('POST', '/api/v1/packages', {
      app_id: app.id,
      version: 'v2.0.0',
    });
    expect(build.status).toBe(202);
    await stack.temporal.client.workflow.getHandle(build.body.workflow_id).result();
    const [pkg] = (await packageOf('v2.0.0')) as [PackageRecord];
    const file = resolvePackagePath(stack.activityDeps.packageDir, pkg.key)!;
    const bytes = await readFile(file);
    // Same size, one byte changed: the recorded digests are kept.
    const middle = bytes.length >> 1;
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    await writeFile(file, bytes);

    const release = await api<Deployment>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v2.0.0',
      requested_by: 'test',
    });
    expect(release.status).toBe(202);
    const done = await waitForStatus(release.body.id, ['succeeded', 'failed', 'rolled_back']);

    expect(done.status).not.toBe('succeeded');
    const node = done.node_deployments.find((candidate) => candidate.machine_id === 'm1');
    expect(node?.status).not.toBe('deployed');
    expect(node?.error).toContain(`not the ${pkg.sha256} recorded for it`);
    expect(node?.error).toContain('is not deployed');
    expect(node?.error).toContain('packages are immutable: tag a new version');
    // The machine still runs what it ran.
    expect((await machineVersions([port]))[0]?.version).toBe('v1.0.0');
  });

  it('heartbeats while a long Kodo upload of the package runs', async () => {
    await writeFile(buildLog, '');
    const kodo = await startFakeKodo();
    try {
      const packageStore = new KodoPackageStore({
        accessKey: kodo.accessKey,
        secretKey: kodo.secretKey,
        bucket: kodo.bucket,
        domain: kodo.url,
        private: true,
        resumableThresholdBytes: 64 * 1024 * 1024,
        ucHost: kodo.url,
      });
      const activities = createReleaseActivities({ ...stack.activityDeps.deps, packageStore });
      const ensurePackage = (input: { appId: string; version: string }) =>
        activities.ensurePackage(input);
      const environment = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
      // Kodo answers the upload only once the activity has heartbeaten twice while it waits:
      // the upload step at once, and the periodic heartbeat that tells Temporal it still runs.
      let release = (): void => {};
      kodo.hold = { kinds: ['form-upload'], until: new Promise((resolve) => (release = resolve)) };
      const uploading: unknown[] = [];
      environment.on('heartbeat', (details: unknown) => {
        if (typeof details === 'string' && details.startsWith('uploading ')) {
          uploading.push(details);
          if (uploading.length === 2) release();
        }
      });

      const info = await environment.run(ensurePackage, { appId: app.id, version: 'v4.0.0' });

      expect(uploading).toEqual([
        expect.stringMatching(/^uploading once\/[0-9a-f]{64}\/once-v4\.0\.0\.tar\.gz to Kodo$/),
        expect.stringMatching(/^uploading once\/[0-9a-f]{64}\/once-v4\.0\.0\.tar\.gz to Kodo$/),
      ]);
      const [pkg] = (await packageOf('v4.0.0')) as [PackageRecord];
      expect(info).toMatchObject({ md5: pkg.md5, sha256: pkg.sha256 });
      expect(digests(kodo.objects.get(pkg.key)!.data)).toEqual({
        md5: pkg.md5,
        sha256: pkg.sha256,
        size: pkg.size,
      });
    } finally {
      kodo.hold = undefined;
      await kodo.close();
    }
  });
});

describe('a package build that fails on a remote that is down', () => {
  it('is built once per release: the join does not start the failed build again', async () => {
    // A git server answering 503: the build fails as Unavailable, the kind retried.
    const infoRefs: string[] = [];
    const remote = createServer((request: IncomingMessage, response) => {
      if (request.url?.includes('/info/refs') === true) infoRefs.push(request.url);
      response.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
    });
    remote.listen(0, '127.0.0.1');
    await once(remote, 'listening');
    try {
      const repoUrl = `http://127.0.0.1:${(remote.address() as AddressInfo).port}/acme/down.git`;
      const created = await api<Application>('POST', '/api/v1/applications', {
        name: 'down',
        repo: repoUrl,
        deploy_path: path.join(root, 'machines-down'),
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: await freePort() }],
        rollback_policy: { enabled: false },
      });
      expect(created.status).toBe(201);
      const down = created.body;
      const workflowId = `package-${down.id}-v1.0.0`;

      const release = await api<Deployment>('POST', '/api/v1/deployments', {
        app_id: down.id,
        package_version: 'v1.0.0',
        requested_by: 'test',
      });
      expect(release.status).toBe(202);
      const done = await waitForStatus(release.body.id, ['succeeded', 'failed', 'rolled_back']);

      expect(done.status).toBe('failed');
      expect(done.reason).toContain(`the package build ${workflowId} failed`);
      expect(done.reason).toContain('503');
      expect(done.node_deployments.map((node) => node.status)).toEqual(['pending']);
      // One package workflow (its own three attempts), not one more for each retry of the join.
      const runs = async () => {
        const statuses: string[] = [];
        const query = `WorkflowId = "${workflowId}"`;
        for await (const execution of stack.temporal.client.workflow.list({ query })) {
          statuses.push(execution.status.name);
        }
        return statuses;
      };
      await expect.poll(runs, { timeout: 20_000, interval: 250 }).toEqual(['FAILED']);
      expect(infoRefs).toHaveLength(3);
    } finally {
      remote.closeAllConnections();
      await new Promise<void>((resolve) => remote.close(() => resolve()));
    }
  });
});
