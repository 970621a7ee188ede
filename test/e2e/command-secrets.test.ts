import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTokenFile } from '../../api/token-file';
import { ApplicationInput, type Deployment } from '../../domain';
import { freePort } from '../support/free-port';
import { ended, waitForStoredDeployment } from '../support/release-calls';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { kill, startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * The attack of issue #15 on the real stack: an application whose build_cmd and start_cmd are
 * hostile read everything they can reach — their environment, their parent's (the worker's)
 * /proc/<pid>/environ, the worker's by its pid, the admin token file — and write it where the
 * test can see it (the package, the machine's log). The worker is a real process (worker/main.ts)
 * started with secrets in its environment; a release goes through Temporal, FerretDB and the
 * local platform. None of the secrets may appear.
 *
 * As root, the worker runs the commands as RELGUARD_RUN_AS=nobody: /proc/<worker>/environ and
 * the 0600 token file are refused by the kernel. Run as another user, the worker cannot switch
 * users, so the test checks the commands' own environment only (the same uid may read the
 * worker's /proc/<pid>/environ: that isolation needs RELGUARD_RUN_AS, see run-as.test.ts).
 */
const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

let stack: ReleaseStack;
let worker: WorkerProcess | undefined;
let root: string;
let tokenFile: string;
let secrets: Record<string, string>;

async function git(repo: string, ...args: string[]): Promise<void> {
  await run(
    'git',
    [
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@relguard.invalid',
      '-c',
      'commit.gpgsign=false',
    ].concat(['-c', 'tag.gpgsign=false'], args),
    { cwd: repo },
  );
}

const server = `const http = require('node:http');
http.createServer((request, response) => response.end('ok'))
  .listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));
`;

/** Everything a hostile command can try, as shell; its findings go to stdout. */
function hostile(workerPid: number): string {
  const reads = isRoot
    ? [
        'echo "uid=$(id -u) ppid=$PPID"',
        'echo "=== env"; env; echo "=== end"',
        `for f in /proc/$PPID/environ /proc/${workerPid}/environ; do if tr '\\0' '\\n' < "$f"; then echo "read=$f"; else echo "denied=$f"; fi; done`,
        `if cat ${tokenFile}; then echo "read=token"; else echo "denied=token"; fi`,
      ]
    : ['echo "uid=$(id -u) ppid=$PPID"', 'echo "=== env"; env; echo "=== end"'];
  return reads.join('; ');
}

beforeAll(async () => {
  stack = await startReleaseStack({ worker: false });
  root = await mkdtemp(path.join(os.tmpdir(), 'relguard-command-secrets-'));
  // The command user passes through the test's folders; the token stays the worker's alone.
  await chmod(root, 0o755);
  await mkdir(path.join(root, 'state'));
  tokenFile = path.join(root, 'state', 'token');
  await writeTokenFile(tokenFile, stack.adminToken);
  secrets = {
    RELGUARD_ADMIN_TOKEN: stack.adminToken,
    KODO_ACCESS_KEY: 'kodo-access-xyz-e2e',
    KODO_SECRET_KEY: 'kodo-secret-xyz-e2e',
    GITHUB_TOKEN: 'ghp_secretxyz_e2e_0123456789',
    OPENAI_API_KEY: 'sk-openai-secret-xyz-e2e',
    DATABASE_URL: 'postgres://app:db-password-xyz-e2e@db.internal/app',
  };
  worker = await startWorkerProcess({
    ...stack.workerEnv,
    ...secrets,
    // Nothing answers there: the token above is never used.
    GITHUB_API_URL: 'http://127.0.0.1:1',
    BUILD_DIR: path.join(root, 'builds'),
    ...(isRoot ? { RELGUARD_RUN_AS: 'nobody' } : {}),
  });
}, 180_000);

afterAll(async () => {
  await stack?.stopMachines().catch(() => undefined);
  if (worker) await kill(worker, 'SIGTERM');
  await stack?.stop();
  await rm(root, { recursive: true, force: true });
});

describe("a release whose commands hunt for the worker's secrets", () => {
  it('finds none of them in what build_cmd and start_cmd could read', async () => {
    const workerPid = worker!.pid;
    if (isRoot) {
      expect(worker!.output()).toContain(
        'build_cmd, start_cmd and stop_cmd run as RELGUARD_RUN_AS',
      );
    }
    const repo = path.join(root, 'repo');
    await mkdir(repo);
    await git(repo, 'init', '--quiet', '--initial-branch=main');
    await writeFile(path.join(repo, 'main.js'), server);
    await git(repo, 'add', '.');
    await git(repo, 'commit', '--quiet', '-m', 'first');
    await git(repo, 'tag', 'v1.0.0');
    const port = await freePort();
    const deployPath = path.join(root, 'deploy');
    const app = await stack.testStore.store.applications.create(
      ApplicationInput.parse({
        name: 'hostile',
        repo,
        deploy_path: deployPath,
        build_cmd: `{ ${hostile(workerPid)}; } > build-dump.txt 2>&1; true`,
        start_cmd: `{ ${hostile(workerPid)}; } 2>&1; exec node main.js`,
        health_check: { path: '/healthz', timeout_seconds: 20 },
        machines: [{ id: 'm1', host: '127.0.0.1', port }],
        pacer: { batch_size: 1, max_parallel: 1, gray_bake_seconds: 0, interval_seconds: 0 },
        rollback_policy: { enabled: false, ai_analysis: false },
      }),
    );
    const response = await stack.app.request('/api/v1/deployments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app_id: app.id, package_version: 'v1.0.0' }),
    });
    expect(response.status, await response.clone().text()).toBe(202);
    const { id } = (await response.json()) as Deployment;
    const done = await waitForStoredDeployment(stack.testStore.store, id, ended, 120_000);
    expect(done.status, `${done.reason}\n${worker!.output().slice(-3000)}`).toBe('succeeded');

    const machineDir = path.join(deployPath, 'm1');
    const buildDump = await readFile(
      path.join(machineDir, 'releases', 'v1.0.0', 'build-dump.txt'),
      'utf8',
    );
    const startDump = await readFile(path.join(machineDir, 'logs', 'v1.0.0.log'), 'utf8');
    for (const [what, dump] of [
      ['build_cmd', buildDump],
      ['start_cmd', startDump],
    ] as const) {
      expect(dump, what).toContain(`ppid=${workerPid}`);
      expect(dump, what).toContain('=== env');
      for (const [name, value] of Object.entries(secrets)) {
        expect(dump, `${name} reached ${what}`).not.toContain(value);
      }
      expect(dump, `MONGODB_URI reached ${what}`).not.toContain(stack.testStore.uri);
      expect(dump).not.toMatch(/^(MONGODB_URI|TEMPORAL_ADDRESS|PACKAGE_DIR)=/m);
      if (isRoot) {
        expect(dump, what).toContain('uid=65534');
        expect(dump, what).toContain(`denied=/proc/${workerPid}/environ`);
        expect(dump, what).not.toContain('read=/proc/');
        expect(dump, what).toContain('denied=token');
      }
    }
  }, 180_000);
});
