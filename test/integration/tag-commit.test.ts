import { execFile, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { createReleaseActivities } from '../../activities/release';
import { createApp } from '../../api/app';
import { temporalReleases } from '../../api/releases';
import {
  ApplicationInput,
  isTerminal,
  type Application,
  type PackageInfo,
  type PackageRecord,
} from '../../domain';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { git, commitAppJs } from '../support/git';

/**
 * A tag pushed to a git server over smart HTTP (git http-backend, as GitHub serves it), its
 * push delivered to the webhook, and the package built by the worker through Temporal: the
 * build takes the tag's commit, never the branch of the same name, records it on the package
 * and the deployment, and refuses a tag that is no longer where the push said.
 */
const run = promisify(execFile);
const SECRET = 'tag-commit-webhook-secret';

let stack: ReleaseStack;
let root: string;
let gitServer: Server;
let gitUrl: string;
let api: TestApi;
let shop: Application;
let billing: Application;
let ledger: Application;

/** A bare repository `<owner>/<name>.git` under the git server's root, and its work copy. */
async function createRepo(fullName: string): Promise<{ work: string; push: () => Promise<void> }> {
  const bare = path.join(root, 'git', `${fullName}.git`);
  const work = path.join(root, 'work', fullName);
  await mkdir(path.dirname(bare), { recursive: true });
  await git(root, 'init', '--quiet', '--bare', bare);
  await git(root, 'init', '--quiet', '--initial-branch=main', work);
  await writeFile(path.join(work, 'README.md'), `# ${fullName}\n`);
  await git(work, 'add', 'README.md');
  await git(work, 'commit', '--quiet', '-m', 'start');
  return {
    work,
    push: async () => {
      await git(work, 'push', '--quiet', '--force', bare, '+refs/heads/*:refs/heads/*');
      await git(work, 'push', '--quiet', '--force', bare, '+refs/tags/*:refs/tags/*');
    },
  };
}

/** git's smart HTTP protocol over `git http-backend`, serving the bare repositories. */
function serveGit(projectRoot: string): Server {
  return createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://git.test');
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : '';
    };
    const backend = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: request.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: header('content-type'),
        HTTP_CONTENT_ENCODING: header('content-encoding'),
        HTTP_GIT_PROTOCOL: header('git-protocol'),
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    request.pipe(backend.stdin);
    let head = Buffer.alloc(0);
    let headersSent = false;
    backend.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        response.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else response.setHeader(name, value);
      }
      response.writeHead(status);
      headersSent = true;
      response.write(head.subarray(end + 4));
    });
    backend.on('close', () => {
      if (!headersSent) response.writeHead(502);
      response.end();
    });
  });
}

/** The messages of an error and of its causes: a workflow's failure wraps the activity's. */
function causesOf(error: unknown): string {
  const messages: string[] = [];
  for (let cause = error; cause instanceof Error; cause = cause.cause) messages.push(cause.message);
  return messages.join('\n');
}

const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

/** A push of `tag` to `fullName` as GitHub delivers it: `head_commit` is the tag's commit. */
async function deliverTagPush(fullName: string, tag: string, commitSha: string) {
  const body = JSON.stringify({
    ref: `refs/tags/${tag}`,
    before: '0'.repeat(40),
    after: commitSha,
    created: true,
    deleted: false,
    head_commit: { id: commitSha, message: `release ${tag}` },
    repository: {
      full_name: fullName,
      html_url: `http://127.0.0.1/${fullName}`,
      clone_url: `${gitUrl}/${fullName}.git`,
    },
    pusher: { name: 'alice' },
    sender: { login: 'alice' },
  });
  const response = await api.request('/api/v1/webhooks/github', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': sign(body),
    },
    body,
  });
  expect(response.status).toBe(202);
  return (await response.json()) as {
    started: {
      app: string;
      package_workflow_id?: string;
      release?: { deployment_id: string };
    }[];
  };
}

async function packagesOf(app: Application): Promise<PackageRecord[]> {
  const response = await api.request(`/api/v1/applications/${app.id}/packages`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: PackageRecord[] }).items;
}

/** The archives in the local package store whose name is `<app>-<version>.tar.gz`. */
async function storedArchives(name: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name === name) found.push(full);
    }
  };
  await walk(stack.activityDeps.packageDir);
  return found;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'relguard-tag-commit-'));
  gitServer = serveGit(path.join(root, 'git'));
  await new Promise<void>((resolve) => gitServer.listen(0, '127.0.0.1', resolve));
  gitUrl = `http://127.0.0.1:${(gitServer.address() as AddressInfo).port}`;
  stack = await startReleaseStack();
  const app = createApp({
    store: stack.testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases: temporalReleases({
      client: stack.temporal.client,
      taskQueue: stack.taskQueue,
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:8233',
    }),
    logger: createLogger('api', 'silent'),
    githubWebhookSecret: SECRET,
    packageStore: stack.activityDeps.deps.packageStore,
  });
  api = withToken(app, await tokenFor(stack.testStore.store, 'admin'));
  const input = (name: string, fullName: string, extra: Record<string, unknown> = {}) =>
    ApplicationInput.parse({
      name,
      repo: `${gitUrl}/${fullName}.git`,
      deploy_path: path.join(root, 'machines', name),
      start_cmd: 'node app.js',
      machines: [{ id: 'm1', host: '127.0.0.1', port: 1 }],
      rollback_policy: { enabled: false },
      ...extra,
    });
  shop = await stack.testStore.store.applications.create(input('shop', 'acme/shop'));
  billing = await stack.testStore.store.applications.create(
    input('billing', 'acme/billing', { auto_release: true }),
  );
  ledger = await stack.testStore.store.applications.create(
    input('ledger', 'acme/ledger', { auto_release: true }),
  );
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => (gitServer ? gitServer.close(() => resolve()) : resolve()));
  await rm(root, { recursive: true, force: true });
});

describe('a pushed tag that shares its name with a branch', () => {
  it("builds the tag's commit, records it on the package, and never the branch's code", async () => {
    const repo = await createRepo('acme/shop');
    const tagged = await commitAppJs(repo.work, 'console.log("reviewed 2.0.0");\n');
    await git(repo.work, 'tag', '-a', 'v2.0.0', '-m', 'release 2.0.0');
    // Anyone who can push a branch: v2.0.0 as a branch, on code nobody reviewed.
    await git(repo.work, 'checkout', '--quiet', '-b', 'v2.0.0');
    const unreviewed = await commitAppJs(repo.work, 'console.log("UNREVIEWED");\n');
    await repo.push();

    const outcome = await deliverTagPush('acme/shop', 'v2.0.0', tagged);
    const workflowId = outcome.started[0]?.package_workflow_id;
    expect(workflowId).toBeDefined();
    const built = await stack.temporal.client.workflow
      .getHandle(workflowId!)
      .result()
      .then((info) => info as PackageInfo);

    expect(built.commit_sha).toBe(tagged);
    const [record] = await packagesOf(shop);
    expect(record).toMatchObject({ version: 'v2.0.0', commit_sha: tagged });
    expect(record?.commit_sha).not.toBe(unreviewed);
    const [archive] = await storedArchives('shop-v2.0.0.tar.gz');
    const { stdout } = await run('tar', ['-xzOf', archive!, './app.js']).catch(() =>
      run('tar', ['-xzOf', archive!, 'app.js']),
    );
    expect(stdout).toBe('console.log("reviewed 2.0.0");\n');

    // A release of the version gets the package's commit on its deployment.
    const deployment = await stack.testStore.store.deployments.create({
      app_name: shop.name,
      app_id: shop.id,
      status: 'pending',
      package_version: 'v2.0.0',
      gray_machine_id: 'm1',
      platform: 'local',
      node_deployments: [],
      previous_version: '',
    });
    const activities = createReleaseActivities(stack.activityDeps.deps);
    const request = { appId: shop.id, version: 'v2.0.0', deploymentId: deployment.id };
    const ensurePackage = (input: typeof request) => activities.ensurePackage(input);
    await new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(
      ensurePackage,
      request,
    );
    expect((await stack.testStore.store.deployments.get(deployment.id)).package).toMatchObject({
      commit_sha: tagged,
    });
  });

  it('refuses a push of a version already built from another commit', async () => {
    const other = await git(path.join(root, 'work', 'acme/shop'), 'rev-parse', 'v2.0.0^');
    const outcome = await deliverTagPush('acme/shop', 'v2.0.0', other);
    const failure = await stack.temporal.client.workflow
      .getHandle(outcome.started[0]!.package_workflow_id!)
      .result()
      .then(
        () => undefined,
        (error: unknown) => error,
      );

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const message = causesOf(failure);
    expect(message).toContain('the package of shop v2.0.0 was built from commit');
    expect(message).toContain(`not from ${other}`);
    expect(await packagesOf(shop)).toHaveLength(1);
  });

  it('refuses to build a tag moved after its push, naming both commits, and stores nothing', async () => {
    const repo = await createRepo('acme/shop-moved');
    await stack.testStore.store.applications.update(shop.id, {
      repo: `${gitUrl}/acme/shop-moved.git`,
    });
    const pushed = await commitAppJs(repo.work, 'console.log("reviewed 2.1.0");\n');
    await git(repo.work, 'tag', 'v2.1.0');
    // The tag is moved to another commit between the push GitHub announced and the build.
    const moved = await commitAppJs(repo.work, 'console.log("UNREVIEWED 2.1.0");\n');
    await git(repo.work, 'tag', '--force', 'v2.1.0', moved);
    await repo.push();

    const outcome = await deliverTagPush('acme/shop-moved', 'v2.1.0', pushed);
    const workflowId = outcome.started[0]?.package_workflow_id;
    const failure = await stack.temporal.client.workflow
      .getHandle(workflowId!)
      .result()
      .then(
        () => undefined,
        (error: unknown) => error,
      );

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const message = causesOf(failure);
    expect(message).toContain(`tag v2.1.0 of ${gitUrl}/acme/shop-moved.git is at commit ${moved}`);
    expect(message).toContain(`not at ${pushed}`);
    expect((await packagesOf(shop)).map((pkg) => pkg.version)).toEqual(['v2.0.0']);
    expect(await storedArchives('shop-v2.1.0.tar.gz')).toEqual([]);
  });

  it('fails the auto-release whose tag moved, with the reason on the deployment', async () => {
    const repo = await createRepo('acme/billing');
    const pushed = await commitAppJs(repo.work, 'console.log("reviewed 5.0.0");\n');
    await git(repo.work, 'tag', 'v5.0.0');
    const moved = await commitAppJs(repo.work, 'console.log("UNREVIEWED 5.0.0");\n');
    await git(repo.work, 'tag', '--force', 'v5.0.0', moved);
    await repo.push();

    const outcome = await deliverTagPush('acme/billing', 'v5.0.0', pushed);
    const deploymentId = outcome.started[0]?.release?.deployment_id;
    expect(deploymentId).toBeDefined();
    const { deployments } = stack.testStore.store;
    await expect
      .poll(async () => isTerminal((await deployments.get(deploymentId!)).status), {
        timeout: 60_000,
        interval: 250,
      })
      .toBe(true);

    const deployment = await deployments.get(deploymentId!);
    expect(deployment).toMatchObject({ status: 'failed', expected_sha: pushed });
    expect(deployment.reason).toContain(`is at commit ${moved}`);
    expect(deployment.reason).toContain(`not at ${pushed}`);
    expect(deployment.node_deployments.map((node) => node.status)).toEqual(['pending']);
    expect(await packagesOf(billing)).toEqual([]);
    expect(await storedArchives('billing-v5.0.0.tar.gz')).toEqual([]);
  });
});

describe('a package uploaded under a version before its tag is pushed', () => {
  it("refuses the push's auto-release: the upload was not built from the pushed commit", async () => {
    const repo = await createRepo('acme/ledger');
    const tagged = await commitAppJs(repo.work, 'console.log("reviewed 3.0.0");\n');
    await git(repo.work, 'tag', '-a', 'v3.0.0', '-m', 'release 3.0.0');
    await repo.push();
    // A deployer uploads bytes nobody reviewed as v3.0.0 before the tag's push arrives.
    const staging = path.join(root, 'upload-ledger');
    await mkdir(staging, { recursive: true });
    await writeFile(path.join(staging, 'app.js'), 'console.log("UNREVIEWED upload");\n');
    const archive = path.join(root, 'ledger-v3.0.0.tar.gz');
    await run('tar', ['-czf', archive, '-C', staging, 'app.js']);
    const uploaded = await api.request(`/api/v1/applications/${ledger.id}/packages/v3.0.0`, {
      method: 'PUT',
      headers: { 'content-type': 'application/gzip' },
      body: await readFile(archive),
    });
    expect(uploaded.status).toBe(201);
    expect(((await uploaded.json()) as PackageRecord).commit_sha).toBeUndefined();

    const outcome = await deliverTagPush('acme/ledger', 'v3.0.0', tagged);
    const deploymentId = outcome.started[0]?.release?.deployment_id;
    expect(deploymentId).toBeDefined();
    const { deployments } = stack.testStore.store;
    await expect
      .poll(async () => isTerminal((await deployments.get(deploymentId!)).status), {
        timeout: 60_000,
        interval: 250,
      })
      .toBe(true);

    const deployment = await deployments.get(deploymentId!);
    expect(deployment).toMatchObject({ status: 'failed', expected_sha: tagged });
    expect(deployment.reason).toContain('the package of ledger v3.0.0 has no recorded commit');
    expect(deployment.reason).toContain('was uploaded (or built before commits were recorded)');
    expect(deployment.reason).toContain(`not built from ${tagged}`);
    expect(deployment.reason).toContain('packages are immutable: tag a new version');
    // Nothing was deployed: the machine was never touched and its folder holds nothing.
    expect(deployment.node_deployments.map((node) => node.status)).toEqual(['pending']);
    expect(await readdir(path.join(root, 'machines', 'ledger')).catch(() => [])).toEqual([]);
    // The upload stays the version's one package: packages are immutable.
    expect((await packagesOf(ledger)).map((pkg) => pkg.version)).toEqual(['v3.0.0']);
  });
});

describe('a git remote that accepts the connection and never answers', () => {
  it('heartbeats while git waits, then stops it after GIT_TIMEOUT_SECONDS naming the repository', async () => {
    const sockets = new Set<Socket>();
    const hung = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.resume();
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const repo = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/acme/hung.git`;
    try {
      const app = await stack.testStore.store.applications.create(
        ApplicationInput.parse({
          name: 'hung',
          repo,
          deploy_path: path.join(root, 'machines', 'hung'),
          start_cmd: 'node app.js',
          machines: [{ id: 'm1', host: '127.0.0.1', port: 1 }],
        }),
      );
      // Longer than the 5 s between heartbeats, so that one falls while git waits.
      const activities = createReleaseActivities({
        ...stack.activityDeps.deps,
        gitTimeoutSeconds: 8,
      });
      const ensurePackage = (input: { appId: string; version: string }) =>
        activities.ensurePackage(input);
      const environment = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
      const heartbeats: unknown[] = [];
      environment.on('heartbeat', (details: unknown) => heartbeats.push(details));

      const failure = await environment
        .run(ensurePackage, { appId: app.id, version: 'v1.0.0' })
        .then(
          () => undefined,
          (error: unknown) => error,
        );

      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect((failure as ApplicationFailure).type).toBe('Unavailable');
      expect(causesOf(failure)).toContain(
        `git clone of ${repo} at tag v1.0.0 timed out after 8 s (GIT_TIMEOUT_SECONDS)`,
      );
      // The step the heartbeat carries while git waited, and more than the step's own.
      expect(heartbeats.filter((details) => details === 'clone').length).toBeGreaterThan(1);
      await expect.poll(() => sockets.size, { timeout: 10_000 }).toBe(0);
      expect(await packagesOf(app)).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });
});
