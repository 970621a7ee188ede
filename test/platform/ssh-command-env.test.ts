import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { SshPlatform } from '../../activities/platform/ssh';
import type { MachineTarget } from '../../activities/platform/types';
import { configVariables } from '../../domain/config';
import {
  appRuntime,
  buildAppPackage,
  machineOnFreePort,
  startPackageServer,
  type PackageServer,
} from './fixtures';
import { startSshd, type TestSshd } from './sshd';

/**
 * The ssh platform runs start_cmd and stop_cmd on the machine, in the remote user's login
 * environment plus the release's variables that relguard writes before the command: nothing
 * of the worker's environment is sent (no env requests, no agent forwarding, no value in the
 * command line). The secrets are set in this process's environment, the worker's here, after
 * the test's sshd started (a real remote host does not share the worker's environment).
 */
const secrets: Record<string, string> = {
  RELGUARD_ADMIN_TOKEN: 'secret-xyz-admin-token-ssh',
  KODO_SECRET_KEY: 'kodo-secret-xyz-ssh',
  GITHUB_TOKEN: 'ghp_secretxyz_ssh_0123456789',
  OPENAI_API_KEY: 'sk-openai-secret-xyz-ssh',
  MONGODB_URI: 'mongodb://relguard:mongo-password-xyz-ssh@127.0.0.1:27017/relguard',
  DATABASE_URL: 'postgres://app:db-password-xyz-ssh@db.internal/app',
};

let workDir: string;
let sshd: TestSshd;
let server: PackageServer;
let platform: SshPlatform;
let target: MachineTarget | undefined;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-ssh-command-env-'));
  [sshd, server] = await Promise.all([startSshd(), startPackageServer()]);
  for (const [name, value] of Object.entries(secrets)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  const knownHosts = path.join(workDir, 'known_hosts');
  await sshd.writeKnownHosts(knownHosts);
  platform = new SshPlatform({
    releasesKept: 3,
    logger: createLogger('test', 'silent'),
    killGraceMs: 2000,
    stagingDir: path.join(workDir, 'staging'),
    hostKeys: { policy: 'strict', knownHostsFile: knownHosts },
  });
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  if (target !== undefined) await platform?.stop(target).catch(() => undefined);
  await sshd?.stop();
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('start_cmd and stop_cmd on the ssh platform', () => {
  it("dump their environment and find none of the worker's secrets", async () => {
    const pkg = await buildAppPackage(workDir, '1.0.0');
    const dump = 'echo "=== env"; env; echo "=== end"';
    const machine = await machineOnFreePort('s1', {
      ssh: { user: sshd.user, port: sshd.port, key_path: sshd.clientKeyPath },
    });
    target = {
      app: appRuntime(path.join(workDir, 'deploy'), {
        name: 'leaky',
        start_cmd: `${dump}; exec node server.js`,
        stop_cmd: dump,
      }),
      machine,
    };
    await platform.deploy(target, server.ref(pkg));
    await platform.stop(target);

    const log = await readFile(path.join(workDir, 'deploy', 's1', 'logs', '1.0.0.log'), 'utf8');
    // Both commands dumped: start_cmd, then stop_cmd.
    expect(log.split('=== env').length - 1).toBe(2);
    for (const [name, value] of Object.entries(secrets)) {
      expect(log, `${name} reached the machine`).not.toContain(value);
    }
    const names = log
      .split('\n')
      .map((line) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    expect(names.filter((name) => (configVariables as readonly string[]).includes(name))).toEqual(
      [],
    );
    expect(names).toEqual(
      expect.arrayContaining(['PORT', 'HOST', 'RELGUARD_VERSION', 'RELGUARD_MACHINE_ID']),
    );
  });
});
