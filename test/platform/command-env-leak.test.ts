import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage } from '../../activities/package-build';
import { createLogger } from '../../activities/logger';
import { LocalPlatform } from '../../activities/platform/local';
import type { MachineTarget } from '../../activities/platform/types';
import {
  appRuntime,
  askVersion,
  buildAppPackage,
  machineOnFreePort,
  startPackageServer,
  type PackageServer,
} from './fixtures';

/**
 * build_cmd and start_cmd are the repository's code: they dump their whole environment, and
 * none of the secrets the worker holds in its own is there. The secrets are set in this
 * process's environment, which is the worker's here (LocalPlatform and buildPackage read
 * process.env by default): relguard's settings (MONGODB_URI, KODO_SECRET_KEY, GITHUB_TOKEN,
 * OPENAI_API_KEY), a token named like one, and a password in a variable relguard has never
 * heard of. Only the allow-list of command-env.ts and the RELGUARD_* values reach the command.
 */
const run = promisify(execFile);

const secrets: Record<string, string> = {
  RELGUARD_ADMIN_TOKEN: 'secret-xyz-admin-token',
  KODO_ACCESS_KEY: 'kodo-access-xyz',
  KODO_SECRET_KEY: 'kodo-secret-xyz',
  GITHUB_TOKEN: 'ghp_secretxyz0123456789',
  OPENAI_API_KEY: 'sk-openai-secret-xyz',
  MONGODB_URI: 'mongodb://relguard:mongo-password-xyz@127.0.0.1:27017/relguard',
  DATABASE_URL: 'postgres://app:db-password-xyz@db.internal/app',
  SSH_AUTH_SOCK: '/tmp/ssh-agent-xyz/agent.1',
};

/** Names a shell or `env` adds by itself. */
const shellOwn = ['PWD', 'OLDPWD', 'SHLVL', '_'];

function expectNoSecret(output: string): void {
  for (const [name, value] of Object.entries(secrets)) {
    expect(output, `${name} reached the command`).not.toContain(value);
    expect(output).not.toMatch(new RegExp(`^${name}=`, 'm'));
  }
}

/** The variable names of an `env` dump between two markers. */
function dumpedNames(output: string, start: string, end: string): string[] {
  const from = output.indexOf(start);
  const to = output.indexOf(end, from);
  expect(from, `no ${start} in:\n${output}`).toBeGreaterThanOrEqual(0);
  return output
    .slice(from + start.length, to)
    .split('\n')
    .map((line) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

const saved = new Map<string, string | undefined>();
let root: string;

beforeAll(async () => {
  for (const [name, value] of Object.entries(secrets)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  root = await mkdtemp(path.join(os.tmpdir(), 'relguard-command-env-'));
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(root, { recursive: true, force: true });
});

describe('build_cmd', () => {
  it("dumps its environment and finds none of the worker's secrets", async () => {
    const repo = path.join(root, 'repo');
    await mkdir(repo);
    const git = (...args: string[]) =>
      run(
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
    await git('init', '--quiet', '--initial-branch=main');
    await writeFile(path.join(repo, 'app.js'), 'console.log("hi");\n');
    await git('add', '.');
    await git('commit', '--quiet', '-m', 'first');
    await git('tag', 'v1.0.0');

    const built = await buildPackage({
      appName: 'leaky',
      repo,
      version: 'v1.0.0',
      workDir: path.join(root, 'build'),
      buildCmd: 'mkdir -p out && { echo "=== env"; env; echo "=== end"; } > out/dump.txt 2>&1',
      artifactPath: 'out',
    });

    const unpacked = path.join(root, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['-xzf', built.filePath, '-C', unpacked]);
    const dump = await readFile(path.join(unpacked, 'dump.txt'), 'utf8');
    expectNoSecret(dump);
    expect(dump).toContain('RELGUARD_APP=leaky');
    expect(dump).toContain('RELGUARD_VERSION=v1.0.0');
    const allowed = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', ...shellOwn];
    const names = dumpedNames(dump, '=== env\n', '=== end');
    expect(
      names.filter((name) => !allowed.includes(name) && !name.startsWith('RELGUARD_')),
    ).toEqual([]);
  });
});

describe('start_cmd on the local platform', () => {
  let server: PackageServer;
  let platform: LocalPlatform;
  let target: MachineTarget | undefined;

  beforeAll(async () => {
    server = await startPackageServer();
    platform = new LocalPlatform({
      releasesKept: 3,
      logger: createLogger('test', 'silent'),
      killGraceMs: 2000,
    });
  });
  afterAll(async () => {
    if (target !== undefined) await platform.stop(target).catch(() => undefined);
    await server?.close();
  });

  it("dumps its environment and finds none of the worker's secrets", async () => {
    const pkg = await buildAppPackage(root, '1.0.0');
    const machine = await machineOnFreePort('m1');
    target = {
      app: appRuntime(path.join(root, 'deploy'), {
        name: 'leaky',
        start_cmd: 'echo "=== env"; env; echo "=== end"; exec node server.js',
      }),
      machine,
    };
    await platform.deploy(target, server.ref(pkg));

    const log = await readFile(path.join(root, 'deploy', 'm1', 'logs', '1.0.0.log'), 'utf8');
    expectNoSecret(log);
    const names = dumpedNames(log, '=== env\n', '=== end');
    const allowed = [
      ...['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'PORT', 'HOST'],
      ...shellOwn,
    ];
    expect(
      names.filter((name) => !allowed.includes(name) && !name.startsWith('RELGUARD_')),
    ).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining([
        'PORT',
        'HOST',
        'RELGUARD_APP',
        'RELGUARD_VERSION',
        'RELGUARD_MACHINE_ID',
        'RELGUARD_DEPLOY_PATH',
        'RELGUARD_START_ID',
      ]),
    );
    // The application's own view agrees.
    expect((await askVersion(machine)).leaked).toEqual([]);
  });
});
