import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmod, link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepTokenFilePrivate, writeTokenFile } from '../../api/token-file';
import { createLogger } from '../../activities/logger';
import { buildPackage } from '../../activities/package-build';
import {
  giveToCommandUser,
  resolveCommandUser,
  type CommandSettings,
  type CommandUser,
} from '../../activities/platform/command-env';
import { LocalPlatform } from '../../activities/platform/local';
import type { MachineTarget } from '../../activities/platform/types';
import { ConfigError } from '../../domain/config';
import { startTestStore, type TestStore } from '../support/mongo';
import { projectRoot } from '../support/tools';
import {
  appRuntime,
  askVersion,
  buildAppPackage,
  machineOnFreePort,
  startPackageServer,
  type PackageServer,
} from './fixtures';

/**
 * RELGUARD_RUN_AS: application commands run as another user, who can read neither the
 * worker's /proc/<pid>/environ nor its 0600 token file. The worker's own user could read both
 * (same uid): that isolation needs RELGUARD_RUN_AS, which the first test shows.
 *
 * These tests switch to `nobody` and so need root, as RELGUARD_RUN_AS itself does. Run as
 * another user they check what such a worker must do instead: refuse RELGUARD_RUN_AS at
 * start-up, and still write token files 0600 owned by itself.
 */
const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const tokenValue = 'rg_secret_token_value_xyz';

let root: string;
let tokenFile: string;
let repo: string;

/** A probe: who the command is, who its parent is, and what it could read. */
const probe = (tokenPath: string) =>
  [
    'echo "uid=$(id -u)"',
    'echo "ppid=$PPID"',
    'if cat "/proc/$PPID/environ" > /dev/null 2>&1; then echo "environ=readable"; else echo "environ=denied"; fi',
    `if cat ${tokenPath} 2>/dev/null; then echo "token=readable"; else echo "token=denied"; fi`,
  ].join('; ');

async function git(...args: string[]): Promise<void> {
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

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'relguard-run-as-'));
  // Other users may pass through the test's folders (a deploy_path must be reachable by the
  // command user); the token file itself is the worker's alone.
  await chmod(root, 0o755);
  await mkdir(path.join(root, 'state'), { mode: 0o755 });
  tokenFile = path.join(root, 'state', 'token');
  await writeTokenFile(tokenFile, tokenValue);
  repo = path.join(root, 'repo');
  await mkdir(repo);
  await git('init', '--quiet', '--initial-branch=main');
  await writeFile(path.join(repo, 'app.js'), 'console.log("hi");\n');
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'first');
  await git('tag', 'v1.0.0');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let buildCount = 0;
async function probeBuild(commands: CommandSettings): Promise<string> {
  buildCount += 1;
  const built = await buildPackage(
    {
      appName: 'probe',
      repo,
      version: 'v1.0.0',
      workDir: path.join(root, `build-${buildCount}`),
      buildCmd: `mkdir -p out && { ${probe(tokenFile)}; } > out/probe.txt 2>&1`,
      artifactPath: 'out',
    },
    { commands },
  );
  const unpacked = path.join(root, `unpacked-${buildCount}`);
  await mkdir(unpacked);
  await run('tar', ['-xzf', built.filePath, '-C', unpacked]);
  return await readFile(path.join(unpacked, 'probe.txt'), 'utf8');
}

describe('token files', () => {
  it('are written mode 0600, owned by the writer, unreadable by another user', async () => {
    const info = await stat(tokenFile);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.uid).toBe(process.getuid!());
    if (isRoot) {
      const asNobody = spawnSync('cat', [tokenFile], { uid: 65534, gid: 65534, encoding: 'utf8' });
      expect(asNobody.status).not.toBe(0);
      expect(asNobody.stderr).toContain('Permission denied');
      expect(asNobody.stdout).not.toContain(tokenValue);
    }
  });

  it('refuses to write through something already at the path, and tightens a kept one', async () => {
    const planted = path.join(root, 'state', 'planted');
    await writeFile(planted, 'someone else made this\n', { mode: 0o644 });
    await expect(writeTokenFile(planted, tokenValue)).rejects.toThrow(/EEXIST/);
    expect(await readFile(planted, 'utf8')).toBe('someone else made this\n');
    await chmod(planted, 0o644);
    expect(await keepTokenFilePrivate(planted)).toBe(0o644);
    expect((await stat(planted)).mode & 0o777).toBe(0o600);
    expect(await keepTokenFilePrivate(planted)).toBeUndefined();
  });

  describe('made by api/create-token.ts, as temporal-dev.sh does', () => {
    let testStore: TestStore;
    beforeAll(async () => {
      testStore = await startTestStore();
    });
    afterAll(async () => {
      await testStore?.close();
    });

    it('is 0600 under a permissive umask, and a loose one kept is made 0600', async () => {
      const out = path.join(root, 'state', 'created-token');
      const createToken = () =>
        new Promise<{ code: number | null; output: string }>((resolve, reject) => {
          // umask 000: the file must still come out 0600.
          const child = spawn(
            'sh',
            [
              '-c',
              'umask 000; exec "$0" --import tsx api/create-token.ts --name local-admin --role admin --out "$1"',
              process.execPath,
              out,
            ],
            {
              cwd: projectRoot,
              env: { ...process.env, MONGODB_URI: testStore.uri, MONGODB_DB: testStore.dbName },
            },
          );
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.once('error', reject);
          child.once('close', (code) => resolve({ code, output }));
        });
      const first = await createToken();
      expect(first.code, first.output).toBe(0);
      expect((await stat(out)).mode & 0o777).toBe(0o600);
      const token = (await readFile(out, 'utf8')).trim();
      expect(token.length).toBeGreaterThan(20);
      if (isRoot) {
        const asNobody = spawnSync('cat', [out], { uid: 65534, gid: 65534, encoding: 'utf8' });
        expect(asNobody.stderr).toContain('Permission denied');
      }

      await chmod(out, 0o644);
      const again = await createToken();
      expect(again.code, again.output).toBe(0);
      expect(again.output).toContain('was mode 644, readable by others: made it 600');
      expect((await stat(out)).mode & 0o777).toBe(0o600);
      expect((await readFile(out, 'utf8')).trim()).toBe(token);
    });
  });
});

describe('RELGUARD_RUN_AS', () => {
  it('names the variable when the user does not exist', () => {
    let error: unknown;
    try {
      resolveCommandUser('no-such-user-relguard');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(
      'RELGUARD_RUN_AS: no user "no-such-user-relguard"',
    );
  });

  it('stops a worker that cannot switch to the user, before it takes any work', async () => {
    // A worker that is not root: run as nobody here (as root), or as the test's own user.
    const asUser = isRoot ? { uid: 65534, gid: 65534 } : {};
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      cwd: projectRoot,
      ...asUser,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: os.tmpdir(),
        RELGUARD_RUN_AS: 'daemon',
        // Nothing listens there: a worker that went on would wait, not exit.
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        MONGODB_URI: 'mongodb://127.0.0.1:1/',
        LOG_LEVEL: 'info',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, output).toBe(1);
    expect(output).toContain('worker refused to start');
    expect(output).toContain('RELGUARD_RUN_AS: the worker runs as uid');
    expect(output).toContain('cannot run commands as user daemon');
    expect(output).not.toContain('worker started');
  });

  it("without it, a command runs as the worker's user and can read /proc/<worker>/environ", async () => {
    // What RELGUARD_RUN_AS is for: the environment relguard gives a command holds no secret,
    // but the same uid may read the worker's own environment and files.
    const output = await probeBuild({});
    expect(output).toContain(`uid=${process.getuid!()}`);
    expect(output).toContain(`ppid=${process.pid}`);
    expect(output).toContain('environ=readable');
  });

  if (isRoot) {
    describe('as root, with RELGUARD_RUN_AS=nobody', () => {
      let nobody: CommandUser;
      let server: PackageServer;
      let platform: LocalPlatform;
      let target: MachineTarget | undefined;

      beforeAll(async () => {
        nobody = resolveCommandUser('nobody')!;
        server = await startPackageServer();
        platform = new LocalPlatform({
          releasesKept: 3,
          logger: createLogger('test', 'silent'),
          killGraceMs: 2000,
          commands: { user: nobody },
        });
      });
      afterAll(async () => {
        if (target !== undefined) await platform.stop(target).catch(() => undefined);
        await server?.close();
      });

      it('resolves the user from the system', () => {
        expect(nobody).toMatchObject({ name: 'nobody', uid: 65534 });
      });

      it('never gives away a file hard-linked from outside the folder it hands over', async () => {
        const outside = path.join(root, 'state', 'system-file');
        await writeFile(outside, "not the application's\n", { mode: 0o600 });
        const handed = path.join(root, 'handed');
        await mkdir(handed);
        await writeFile(path.join(handed, 'own'), 'own\n');
        await link(path.join(handed, 'own'), path.join(handed, 'own-again'));
        await giveToCommandUser(handed, { user: nobody });
        expect((await stat(path.join(handed, 'own-again'))).uid).toBe(65534);

        await link(outside, path.join(handed, 'smuggled'));
        await expect(giveToCommandUser(handed, { user: nobody })).rejects.toThrow(
          `${path.join(handed, 'smuggled')} is a hard link to a file outside ${handed}`,
        );
        expect((await stat(outside)).uid).toBe(0);
      });

      it('build_cmd runs as nobody and can read neither the worker environ nor the token', async () => {
        const output = await probeBuild({ user: nobody });
        expect(output).toContain('uid=65534');
        expect(output).toContain(`ppid=${process.pid}`);
        expect(output).toContain('environ=denied');
        expect(output).toContain('token=denied');
        expect(output).not.toContain(tokenValue);
      });

      it('start_cmd runs as nobody in a release it owns, and can read neither', async () => {
        const pkg = await buildAppPackage(root, '1.0.0');
        const machine = await machineOnFreePort('m1');
        target = {
          app: appRuntime(path.join(root, 'deploy'), {
            name: 'probe',
            start_cmd: `${probe(tokenFile)}; exec node server.js`,
          }),
          machine,
        };
        await platform.deploy(target, server.ref(pkg));
        const machineDir = path.join(root, 'deploy', 'm1');
        const log = await readFile(path.join(machineDir, 'logs', '1.0.0.log'), 'utf8');
        expect(log).toContain('uid=65534');
        expect(log).toContain(`ppid=${process.pid}`);
        expect(log).toContain('environ=denied');
        expect(log).toContain('token=denied');
        expect(log).not.toContain(tokenValue);
        expect((await askVersion(machine)).version).toBe('1.0.0');
        // Its release is the command user's; relguard's state file stays relguard's.
        const release = await stat(path.join(machineDir, 'releases', '1.0.0', 'server.js'));
        expect(release.uid).toBe(65534);
        expect((await stat(path.join(machineDir, 'relguard-machine.json'))).uid).toBe(0);
        const pid = await platform.runningPid(target);
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        expect(status).toMatch(/^Uid:\s+65534\s/m);
        // Its own process group, led by the process relguard recorded.
        const stat2 = await readFile(`/proc/${pid}/stat`, 'utf8');
        expect(stat2.slice(stat2.lastIndexOf(')') + 2).split(' ')[2]).toBe(String(pid));
      });
    });
  }
});
