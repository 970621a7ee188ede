import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../domain';
import { FailureType, RelguardError } from '../../domain/errors';
import { createLogger } from '../../activities/logger';
import { SshPlatform } from '../../activities/platform/ssh';
import type { MachineTarget } from '../../activities/platform/types';
import {
  appRuntime,
  askVersion,
  buildAppPackage,
  describeFile,
  machineOnFreePort,
  processGone,
  startPackageServer,
  type BuiltPackage,
  type PackageServer,
} from './fixtures';
import { startTogether } from '../support/start-together';
import { startSshd, type TestSshd } from './sshd';
import { tarGz } from './tar-writer';

const logger = createLogger('test-platform', 'silent');

let workDir: string;
let deployPath: string;
let sshd: TestSshd;
let server: PackageServer;
let v1: BuiltPackage;
let v2: BuiltPackage;
let v3: BuiltPackage;
let platform: SshPlatform;
/** The test sshd's keys, as `ssh-keyscan` would write them: the platform trusts only these. */
let knownHosts: string;
const machines: Machine[] = [];

const target = (machine: Machine): MachineTarget => ({ app: appRuntime(deployPath), machine });

async function failure(promise: Promise<unknown>): Promise<RelguardError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the call succeeded').toBeInstanceOf(RelguardError);
  return error as RelguardError;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-ssh-platform-'));
  deployPath = path.join(workDir, 'deploy');
  [sshd, server, v1, v2, v3] = await startTogether([
    startSshd(),
    startPackageServer(),
    buildAppPackage(workDir, '1.0.0'),
    buildAppPackage(workDir, '2.0.0'),
    buildAppPackage(workDir, '3.0.0'),
  ]);
  knownHosts = path.join(workDir, 'known_hosts');
  await sshd.writeKnownHosts(knownHosts);
  platform = new SshPlatform({
    releasesKept: 3,
    logger,
    killGraceMs: 3000,
    stagingDir: path.join(workDir, 'staging'),
    hostKeys: { policy: 'strict', knownHostsFile: knownHosts },
  });
  for (const id of ['s1', 's2']) {
    machines.push(
      await machineOnFreePort(id, {
        ssh: { user: sshd.user, port: sshd.port, key_path: sshd.clientKeyPath },
      }),
    );
  }
});

afterAll(async () => {
  for (const machine of machines) await platform?.stop(target(machine)).catch(() => undefined);
  await sshd?.stop();
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('SshPlatform against a real sshd', () => {
  it('deploys to two machines over ssh, each answering its version', async () => {
    const results = await Promise.all(
      machines.map((machine) => platform.deploy(target(machine), server.ref(v1))),
    );
    expect(results.map((result) => result.changed)).toEqual([true, true]);
    for (const machine of machines) {
      const machineDir = path.join(deployPath, machine.id);
      expect(await askVersion(machine)).toMatchObject({
        version: '1.0.0',
        port: String(machine.port),
        machine: machine.id,
        deploy_path: machineDir,
        cwd: path.join(machineDir, 'releases/1.0.0'),
      });
      expect(await platform.currentVersion(target(machine))).toBe('1.0.0');
      expect(await readdir(path.join(machineDir, 'incoming'))).toEqual([]);
    }
    expect(await readdir(path.join(workDir, 'staging'))).toEqual([]);
  });

  it('deploys v2 to one machine and rolls back without downloading v1 again', async () => {
    const s1 = machines[0]!;
    const v1Pid = await platform.runningPid(target(s1));
    await platform.deploy(target(s1), server.ref(v2));
    expect((await askVersion(s1)).version).toBe('2.0.0');
    expect(processGone(v1Pid!)).toBe(true);

    const v1Downloads = server.downloads(v1);
    await platform.rollback(target(s1), server.ref(v1));
    expect((await askVersion(s1)).version).toBe('1.0.0');
    expect(server.downloads(v1)).toBe(v1Downloads);
    expect(await readlink(path.join(deployPath, 's1', 'current'))).toBe('releases/1.0.0');
  });

  it('does nothing when the machine already runs the version healthily', async () => {
    const s1 = machines[0]!;
    const pid = await platform.runningPid(target(s1));
    expect(pid).toBeDefined();
    const downloads = server.downloads(v1);
    const result = await platform.deploy(target(s1), server.ref(v1));
    expect(result).toEqual({ machine_id: 's1', version: '1.0.0', changed: false });
    expect(await platform.runningPid(target(s1))).toBe(pid);
    expect(server.downloads(v1)).toBe(downloads);
  });

  it('refuses a package whose MD5 differs before anything is uploaded', async () => {
    const s2 = machines[1]!;
    const pid = await platform.runningPid(target(s2));
    const error = await failure(
      platform.deploy(target(s2), { ...server.ref(v2), md5: 'f'.repeat(32) }),
    );
    expect(error.type).toBe(FailureType.BadPackage);
    expect(error.message).toContain('has MD5');
    expect(await readdir(path.join(deployPath, 's2', 'releases'))).toEqual(['1.0.0']);
    expect(await platform.runningPid(target(s2))).toBe(pid);
    expect((await askVersion(s2)).version).toBe('1.0.0');
  });

  it('refuses an unsafe archive before it reaches the machine', async () => {
    const s2 = machines[1]!;
    const file = path.join(workDir, 'evil-5.0.0.tar.gz');
    await writeFile(file, tarGz([{ name: 'link', type: '2', linkname: '/etc' }]));
    const error = await failure(
      platform.deploy(target(s2), server.ref(await describeFile('5.0.0', file))),
    );
    expect(error.type).toBe(FailureType.BadPackage);
    expect(error.message).toContain('"link" is a symlink to the absolute path "/etc"');
    expect(await readdir(path.join(deployPath, 's2', 'incoming'))).toEqual([]);
    expect((await askVersion(s2)).version).toBe('1.0.0');
  });

  it('refuses the machine when no known_hosts file vouches for its key', async () => {
    const wary = new SshPlatform({ releasesKept: 3, logger });
    const error = await failure(wary.currentVersion(target(machines[0]!)));
    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain(`machine s1 (127.0.0.1:${sshd.port})`);
    expect(error.message).toContain(`unknown ssh host key ${sshd.hostFingerprint}`);
  });

  it('stop() leaves no process and can be repeated', async () => {
    const s2 = machines[1]!;
    const pid = await platform.runningPid(target(s2));
    await platform.stop(target(s2));
    expect(processGone(pid!)).toBe(true);
    expect(await platform.runningPid(target(s2))).toBeUndefined();
    await platform.stop(target(s2));
  });

  // Four rollouts over ssh take seconds each on shared cores: more than the default timeout.
  it('keeps the newest releases and never the one it rolls back to', async () => {
    const keepTwo = new SshPlatform({
      releasesKept: 2,
      logger,
      killGraceMs: 3000,
      stagingDir: path.join(workDir, 'staging'),
      hostKeys: { policy: 'strict', knownHostsFile: knownHosts },
    });
    const s3 = await machineOnFreePort('s3', {
      ssh: { user: sshd.user, port: sshd.port, key_path: sshd.clientKeyPath },
    });
    // Stopped with the others after the tests.
    machines.push(s3);
    const machineDir = path.join(deployPath, 's3');
    const listed = (folder: string) =>
      readdir(path.join(machineDir, folder)).then((names) => names.sort());

    for (const pkg of [v1, v2, v3]) await keepTwo.deploy(target(s3), server.ref(pkg));
    expect(await listed('releases')).toEqual(['2.0.0', '3.0.0']);
    expect(await readlink(path.join(machineDir, 'current'))).toBe('releases/3.0.0');
    expect((await askVersion(s3)).version).toBe('3.0.0');
    expect(await listed('logs')).toEqual(['2.0.0.log', '3.0.0.log']);

    // v1 was pruned: the rollback downloads it again, and v2, the least recently started, goes.
    const v1Downloads = server.downloads(v1);
    await keepTwo.rollback(target(s3), server.ref(v1));
    expect(server.downloads(v1)).toBe(v1Downloads + 1);
    expect(await listed('releases')).toEqual(['1.0.0', '3.0.0']);
    expect(await readlink(path.join(machineDir, 'current'))).toBe('releases/1.0.0');
    expect((await askVersion(s3)).version).toBe('1.0.0');
    expect(await listed('logs')).toEqual(['1.0.0.log', '3.0.0.log']);
    expect(await readdir(path.join(machineDir, 'incoming'))).toEqual([]);
  }, 120_000);
});
