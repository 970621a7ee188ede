import { createHash, randomBytes } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment as DeploymentView } from '../../client';
import type { Application } from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';

/**
 * The CLI as a pipeline runs it: a child process against a running api (served on a port, a
 * Temporal dev server, a worker), releasing the demo application onto three local machines.
 */
const execFileAsync = promisify(execFile);
const repoRoot = process.cwd();
const main = path.join(repoRoot, 'cli', 'main.ts');
let stack: ReleaseStack;
let demoRepo: string;
let workDir: string;
let deployPath: string;
const ports: number[] = [];
const children = new Set<ReturnType<typeof spawn>>();
let firstRelease: string;

interface Cli {
  stdout: string;
  stderr: string;
  exited: Promise<number>;
}

/** Starts `relguard <args>` with the stack's api and admin token in its environment. */
function startCli(
  args: string[],
  env: Record<string, string> = {},
  entry = ['--import', 'tsx', main],
): Cli {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      RELGUARD_API_URL: stack.apiUrl,
      RELGUARD_TOKEN: stack.adminToken,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const cli: Cli = {
    stdout: '',
    stderr: '',
    exited: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        children.delete(child);
        resolve(code ?? -1);
      });
    }),
  };
  child.stdout.on('data', (chunk: Buffer) => (cli.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (cli.stderr += chunk.toString()));
  return cli;
}

async function relguard(args: string[], env: Record<string, string> = {}) {
  const cli = startCli(args, env);
  const code = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

/** The application of examples/app.yaml, pointed at the demo repository and free ports. */
async function writeAppFile(name: string, change: (app: Record<string, unknown>) => void) {
  const app = parse(await readFile(path.join(repoRoot, 'examples', 'app.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  app.name = 'shop';
  app.repo = demoRepo;
  // The demo repository holds the built mockserver: its tag is the package as it is.
  delete app.build_cmd;
  delete app.artifact_path;
  app.deploy_path = deployPath;
  app.machines = ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port }));
  app.pacer = { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 1 };
  // The metric guard has tests of its own (test/integration/guard.test.ts).
  app.rollback_policy = { enabled: false, ai_analysis: false };
  change(app);
  const file = path.join(workDir, name);
  await writeFile(file, stringify(app));
  return file;
}

async function setBake(seconds: number) {
  const { items } = (await (await stack.app.request('/api/v1/applications')).json()) as {
    items: Application[];
  };
  const shop = items.find((app) => app.name === 'shop')!;
  const response = await stack.app.request(`/api/v1/applications/${shop.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      pacer: { batch_size: 1, gray_bake_seconds: seconds, interval_seconds: 1 },
    }),
  });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  [stack, demoRepo, workDir, deployPath] = await Promise.all([
    startReleaseStack(),
    createDemoRepo([{ tag: 'v1.0.0' }, { tag: 'v1.1.0' }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-cli-')),
    mkdtemp(path.join(os.tmpdir(), 'relguard-cli-machines-')),
  ]);
  for (let i = 0; i < 3; i++) ports.push(await freePort());
}, 240_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await stack?.stopMachines();
  await stack?.stop();
  await rm(demoRepo, { recursive: true, force: true });
  await rm(workDir, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

describe('relguard against a running api', () => {
  it('creates an application from YAML, naming the fields the api refuses', async () => {
    const bad = await writeAppFile('bad.yaml', (app) => {
      app.machines = [{ id: 'm1', host: '127.0.0.1', port: 'eighty' }];
      app.colour = 'blue';
    });
    const refused = await relguard(['app', 'create', '-f', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/\(422 validation_failed\)/);
    expect(refused.stderr).toMatch(/^relguard: {3}machines\.0\.port: /m);
    expect(refused.stderr).toMatch(/^relguard: {3}colour: unknown field$/m);

    const file = await writeAppFile('app.yaml', () => undefined);
    const created = await relguard(['app', 'create', '-f', file]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(
      /^created application shop \([0-9a-f]{24}\) with 3 machine\(s\)$/m,
    );

    const listed = await relguard(['app', 'list']);
    expect(listed.code).toBe(0);
    // No machine runs anything yet: none is healthy (the health watcher decides the rest).
    expect(listed.stdout).toMatch(
      /^shop +[0-9a-f]{24} +- +(unknown|error|alert) +0\/3 +\d +\d +\d +local +-$/m,
    );
    const got = await relguard(['app', 'get', 'shop', '--json']);
    expect(got.code).toBe(0);
    const app = JSON.parse(got.stdout) as Application;
    expect(app.machines.map((machine) => machine.port)).toEqual(ports);
    expect(app.pacer.gray_bake_seconds).toBe(1);
  });

  it('starts a release and waits for it to succeed (exit 0), then shows it', async () => {
    const released = await relguard(['release', 'start', 'shop', 'v1.0.0', '--wait', '--json']);
    expect(released.code).toBe(0);
    const ended = JSON.parse(released.stdout) as DeploymentView;
    expect(ended.status).toBe('succeeded');
    firstRelease = ended.id;
    // --json keeps stdout for the JSON; the progress went to stderr, a line per change.
    expect(released.stderr).toMatch(/^\d\d:\d\d:\d\d machine m3 \(batch 2\) deployed$/m);
    expect(released.stderr).toContain(`release ${ended.id} succeeded: shop v1.0.0 on 3 machine(s)`);

    const status = await relguard(['release', 'status', ended.id, '--json']);
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout) as DeploymentView;
    expect(shown).toMatchObject({ id: ended.id, status: 'succeeded', package_version: 'v1.0.0' });
    expect(shown.node_deployments.map((node) => node.status)).toEqual([
      'deployed',
      'deployed',
      'deployed',
    ]);
    const human = await relguard(['release', 'status', ended.id]);
    expect(human.stdout).toContain('status   succeeded');
    expect(human.stdout).toContain(
      'progress batch 2 of 2 [####################] 3/3 machines on v1.0.0',
    );
    const shop = await relguard(['app', 'get', 'shop']);
    expect(shop.code).toBe(0);
    expect(shop.stdout).toMatch(/^machines +3 \(3 healthy, 0 error, 0 alert, 0 unknown\)$/m);
    expect(shop.stdout).toMatch(/^m1 +127\.0\.0\.1:\d+ +healthy +v1\.0\.0 +\d+[smh] ago +\S.*$/m);
    // The api's machine history was read (it may hold nothing yet, or the watcher's changes).
    expect(shop.stdout).toMatch(/^machine events(, newest first:|: none recorded yet)$/m);
    const packages = await relguard(['package', 'list', 'shop']);
    expect(packages.stdout).toMatch(/^v1\.0\.0 +\d+(\.\d)? (B|KiB|MiB) +[0-9a-f]{32} /m);
  }, 120_000);

  it('watches a release that is rolled back by hand and exits 3 with the reason', async () => {
    await setBake(600);
    const started = await relguard(['release', 'start', 'shop', 'v1.1.0', '--json']);
    expect(started.code).toBe(0);
    const id = (JSON.parse(started.stdout) as DeploymentView).id;

    const watch = startCli(['release', 'watch', id]);
    await until('the gray machine to bake', () => watch.stdout.includes('baking the gray machine'));

    const second = await relguard(['release', 'start', 'shop', 'v1.1.0']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('(409 conflict)');
    expect(second.stderr).toContain(id);
    const paused = await relguard(['release', 'pause', id]);
    expect(paused).toMatchObject({
      code: 0,
      stdout: `pause sent to release ${id} (shop v1.1.0)\n`,
    });
    await until('the pause to show', () => watch.stdout.includes('paused while baking'));
    const again = await relguard(['release', 'pause', id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('cannot pause: the release is paused already (409 conflict)');
    expect((await relguard(['release', 'resume', id])).code).toBe(0);

    const rollback = await relguard([
      'release',
      'rollback',
      id,
      '--reason',
      'error rate on /api/pay',
      '--requested-by',
      'alice',
    ]);
    expect(rollback.code).toBe(0);
    expect(await watch.exited).toBe(3);
    expect(watch.stdout).toMatch(/^\d\d:\d\d:\d\d status rolled_back$/m);
    expect(watch.stdout).toMatch(/^\d\d:\d\d:\d\d machine m1 \(batch 0\) rolled_back$/m);
    expect(watch.stdout).toContain(`release ${id} rolled back: shop is back on v1.0.0`);
    // The token's name, and the person the command was run for.
    expect(watch.stdout).toMatch(/^reason: error rate on \/api\/pay \(by \S+ for alice\)$/m);
    // A log, not a terminal: no cursor movement.
    expect(watch.stdout).not.toContain('\x1b[');
  }, 120_000);

  it('exits 5 from start --wait when the release is cancelled', async () => {
    const release = startCli(['release', 'start', 'shop', 'v1.1.0', '--wait']);
    await until('the gray machine to bake', () =>
      release.stdout.includes('baking the gray machine'),
    );
    const id = /^release (\S+) started/m.exec(release.stdout)?.[1];
    expect(id).toBeDefined();
    const cancelled = await relguard(['release', 'cancel', id!, '--reason', 'wrong version']);
    expect(cancelled.code).toBe(0);
    expect(await release.exited).toBe(5);
    expect(release.stdout).toContain(`release ${id!} cancelled`);
    expect(release.stdout).toContain('reason: wrong version');
    await setBake(1);
  }, 120_000);

  it('builds a package on request and waits for it', async () => {
    await execFileAsync('git', ['-C', demoRepo, 'tag', 'v1.2.0']);
    const built = await relguard(['package', 'build', 'shop', 'v1.2.0', '--wait']);
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    // One build per version, named by the application's id.
    expect(built.stdout).toMatch(/building shop v1\.2\.0 \(package-[0-9a-f]{24}-v1\.2\.0\)/);
    expect(built.stdout).toMatch(/package shop v1\.2\.0 stored: .*, md5 [0-9a-f]{32}/);
    const again = await relguard(['package', 'build', 'shop', 'v1.2.0']);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toContain('package shop v1.2.0 exists');
  }, 120_000);

  it("runs the generated client's example: lists the applications, releases v1.2.0 to its end", async () => {
    const example = startCli(['shop', 'v1.2.0'], {}, [
      '--import',
      'tsx',
      path.join(repoRoot, 'client', 'example.ts'),
    ]);
    expect(await example.exited).toBe(0);
    expect(example.stderr).toBe('');
    expect(example.stdout).toMatch(/^shop: v1\.\d\.0 on 3 machine\(s\)$/m);
    const id = /^release (\S+) started: http/m.exec(example.stdout)?.[1];
    expect(id).toBeDefined();
    expect(example.stdout).toContain(`release ${id!} succeeded`);
    const status = await relguard(['release', 'status', id!, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({
      id,
      status: 'succeeded',
      package_version: 'v1.2.0',
    });
  }, 120_000);

  it('uploads a package built elsewhere, once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-cli-upload-'));
    const file = path.join(dir, 'shop-v1.3.0.tar.gz');
    const bytes = randomBytes(4096);
    await writeFile(file, bytes);
    try {
      const uploaded = await relguard(['package', 'upload', 'shop', 'v1.3.0', '-f', file]);
      expect(uploaded.code).toBe(0);
      const md5 = createHash('md5').update(bytes).digest('hex');
      expect(uploaded.stdout).toContain(`package shop v1.3.0 uploaded: 4.0 KiB, md5 ${md5}`);
      const listed = await relguard(['package', 'list', 'shop', '--json']);
      const versions = (JSON.parse(listed.stdout) as { items: { version: string; md5: string }[] })
        .items;
      expect(versions).toContainEqual(expect.objectContaining({ version: 'v1.3.0', md5 }));
      const again = await relguard(['package', 'upload', 'shop', 'v1.3.0', '-f', file]);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('packages are immutable');
      const missing = await relguard(['package', 'upload', 'shop', 'v1.4.0', '-f', `${file}.nope`]);
      expect(missing.code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 with the api's message: no report, an unknown app, a bad token", async () => {
    const noReport = await relguard(['analysis', 'show', firstRelease]);
    expect(noReport).toMatchObject({ code: 2, stdout: '' });
    expect(noReport.stderr).toContain(
      `relguard: deployment ${firstRelease} has no analysis report yet`,
    );
    expect(noReport.stderr).toContain('(404 not_found)');
    const markdown = await relguard(['analysis', 'show', firstRelease, '--markdown']);
    expect(markdown.code).toBe(2);
    expect(markdown.stderr).toContain('has no analysis report yet');

    const unknownApp = await relguard(['release', 'start', 'nope', 'v1.0.0']);
    expect(unknownApp.code).toBe(2);
    expect(unknownApp.stderr).toContain('no application named "nope"');
    expect((await relguard(['app', 'get', 'nope'])).code).toBe(2);
    const unknownDeployment = await relguard(['release', 'status', '0'.repeat(24)]);
    expect(unknownDeployment.code).toBe(2);

    const badToken = await relguard(['app', 'list', '--token', 'rg_not_a_real_token']);
    expect(badToken.code).toBe(2);
    expect(badToken.stderr).toContain('(401 unauthorized)');
    expect(badToken.stderr + badToken.stdout).not.toContain('rg_not_a_real_token');

    const down = await relguard(['app', 'list', '--api', `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(
      /cannot reach the api at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
  }, 120_000);

  it('exits 1 on bad usage, and the bin launcher runs the same CLI', async () => {
    const missing = await relguard(['release', 'start', 'shop']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('missing <version>');
    expect((await relguard(['deploy', 'shop'])).code).toBe(1);
    expect((await relguard(['release', 'watch', 'x', '--bogus'])).code).toBe(1);
    expect((await relguard([])).code).toBe(1);

    const launcher = startCli(['release', '--help'], {}, [
      path.join(repoRoot, 'bin', 'relguard.js'),
    ]);
    expect(await launcher.exited).toBe(0);
    expect(launcher.stdout).toContain('Usage: relguard release <command>');
  }, 120_000);
});
