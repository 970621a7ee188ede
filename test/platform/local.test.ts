import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../domain';
import { FailureType, RelguardError } from '../../domain/errors';
import { createLogger } from '../../activities/logger';
import { LocalPlatform, startIdVariable } from '../../activities/platform/local';
import { machineLayout, parseState, startingState } from '../../activities/platform/releases';
import type { AppRuntime, MachineTarget } from '../../activities/platform/types';
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
import { tarGz } from './tar-writer';

const logger = createLogger('test-platform', 'silent');

let workDir: string;
let deployPath: string;
let server: PackageServer;
let v1: BuiltPackage;
let v2: BuiltPackage;
let v3: BuiltPackage;
let platform: LocalPlatform;
const started: { platform: LocalPlatform; target: MachineTarget }[] = [];

function target(app: AppRuntime, machine: Machine, on: LocalPlatform = platform): MachineTarget {
  const made = { app, machine };
  started.push({ platform: on, target: made });
  return made;
}

async function failure(promise: Promise<unknown>): Promise<RelguardError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the call succeeded').toBeInstanceOf(RelguardError);
  return error as RelguardError;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-local-platform-'));
  deployPath = path.join(workDir, 'deploy');
  server = await startPackageServer();
  [v1, v2, v3] = await Promise.all([
    buildAppPackage(workDir, '1.0.0'),
    buildAppPackage(workDir, '2.0.0'),
    buildAppPackage(workDir, '3.0.0'),
  ]);
  platform = new LocalPlatform({
    releasesKept: 3,
    logger,
    killGraceMs: 3000,
    // The secrets relguard holds must not reach the application.
    baseEnv: { ...process.env, KODO_SECRET_KEY: 'kodo-secret', MY_API_TOKEN: 'token' },
  });
});

afterAll(async () => {
  for (const { platform: on, target: made } of started) await on.stop(made).catch(() => undefined);
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('LocalPlatform', () => {
  const app = () => appRuntime(deployPath);
  const machines: Machine[] = [];

  it('deploys to three machines in parallel, each answering its version', async () => {
    machines.push(...(await Promise.all(['m1', 'm2', 'm3'].map((id) => machineOnFreePort(id)))));
    const steps: string[] = [];
    const results = await Promise.all(
      machines.map((machine) =>
        platform.deploy(target(app(), machine), server.ref(v1), {
          onProgress: (step) => steps.push(step),
        }),
      ),
    );
    expect(results).toEqual(
      machines.map((machine) => ({ machine_id: machine.id, version: '1.0.0', changed: true })),
    );
    for (const machine of machines) {
      const answer = await askVersion(machine);
      const machineDir = path.join(deployPath, machine.id);
      expect(answer).toMatchObject({
        version: '1.0.0',
        port: String(machine.port),
        host: '127.0.0.1',
        app: 'demo',
        machine: machine.id,
        deploy_path: machineDir,
        cwd: path.join(machineDir, 'releases/1.0.0'),
        leaked: [],
      });
      expect(await platform.currentVersion(target(app(), machine))).toBe('1.0.0');
      expect(await readlink(path.join(machineDir, 'current'))).toBe('releases/1.0.0');
      expect(await readFile(path.join(machineDir, 'logs/1.0.0.log'), 'utf8')).toContain(
        `listening on 127.0.0.1:${machine.port}`,
      );
    }
    expect(server.downloads(v1)).toBe(3);
    expect(steps).toEqual(
      expect.arrayContaining([
        'downloading package 1.0.0',
        'starting 1.0.0',
        'waiting for the health check',
      ]),
    );
  });

  it('deploys v2 to one machine and rolls it back without downloading v1 again', async () => {
    const m1 = machines[0]!;
    const v1Pid = await platform.runningPid(target(app(), m1));
    await platform.deploy(target(app(), m1), server.ref(v2));
    expect((await askVersion(m1)).version).toBe('2.0.0');
    expect(processGone(v1Pid!)).toBe(true);
    expect((await askVersion(machines[1]!)).version).toBe('1.0.0');

    const v1Downloads = server.downloads(v1);
    const result = await platform.rollback(target(app(), m1), server.ref(v1));
    expect(result).toEqual({ machine_id: 'm1', version: '1.0.0', changed: true });
    expect((await askVersion(m1)).version).toBe('1.0.0');
    expect(server.downloads(v1)).toBe(v1Downloads);
  });

  it('does nothing when the machine already runs the version healthily', async () => {
    const m1 = machines[0]!;
    const pid = await platform.runningPid(target(app(), m1));
    const downloads = server.downloads(v1);
    const result = await platform.deploy(target(app(), m1), server.ref(v1));
    expect(result).toEqual({ machine_id: 'm1', version: '1.0.0', changed: false });
    expect(await platform.runningPid(target(app(), m1))).toBe(pid);
    expect(server.downloads(v1)).toBe(downloads);
    expect(await platform.health(target(app(), m1))).toEqual({ healthy: true, status: 200 });
  });

  it('finds and stops the process of a start whose worker died before recording it', async () => {
    const m4 = await machineOnFreePort('m4');
    const machineDir = path.join(deployPath, 'm4');
    await platform.deploy(target(app(), m4), server.ref(v1));
    await platform.deploy(target(app(), m4), server.ref(v2));
    const pid = (await platform.runningPid(target(app(), m4)))!;
    // What a worker killed between the spawn of v2 and its record leaves on disk: the state of
    // the start, with the id the process carries, and no process.
    const environment = await readFile(`/proc/${pid}/environ`, 'utf8');
    const startId = environment
      .split('\0')
      .find((entry) => entry.startsWith(`${startIdVariable}=`))!
      .slice(startIdVariable.length + 1);
    const stateFile = path.join(machineDir, machineLayout.state);
    const before = parseState(await readFile(stateFile, 'utf8'));
    await writeFile(stateFile, JSON.stringify(startingState(before, '2.0.0', startId)));
    expect(await platform.runningPid(target(app(), m4))).toBeUndefined();

    const again = await platform.deploy(target(app(), m4), server.ref(v2));
    expect(again.changed).toBe(false);
    expect(await platform.runningPid(target(app(), m4))).toBe(pid);
    await platform.deploy(target(app(), m4), server.ref(v3));
    expect(processGone(pid)).toBe(true);
    expect((await askVersion(m4)).version).toBe('3.0.0');

    // Killed before the spawn: no process has the id, and the machine is simply started.
    await platform.stop(target(app(), m4));
    const stopped = parseState(await readFile(stateFile, 'utf8'));
    await writeFile(stateFile, JSON.stringify(startingState(stopped, '3.0.0', 'never-spawned')));
    expect((await platform.deploy(target(app(), m4), server.ref(v3))).changed).toBe(true);
    expect((await askVersion(m4)).version).toBe('3.0.0');
  });

  it('refuses a package whose MD5 differs before anything on the machine changes', async () => {
    const m2 = machines[1]!;
    const pid = await platform.runningPid(target(app(), m2));
    const forged = { ...server.ref(v3), md5: '0'.repeat(32) };
    const error = await failure(platform.deploy(target(app(), m2), forged));
    expect(error.type).toBe(FailureType.BadPackage);
    expect(error.message).toContain(`has MD5 ${v3.md5}, not the ${'0'.repeat(32)} recorded`);
    expect(error.message).not.toContain('secret-signature');
    const machineDir = path.join(deployPath, 'm2');
    expect(await readlink(path.join(machineDir, 'current'))).toBe('releases/1.0.0');
    expect(await platform.runningPid(target(app(), m2))).toBe(pid);
    expect((await askVersion(m2)).version).toBe('1.0.0');
    expect(await readdir(path.join(machineDir, 'releases'))).toEqual(['1.0.0']);
    expect(await readdir(path.join(machineDir, 'incoming'))).toEqual([]);
  });

  it('refuses an unsafe archive before anything on the machine changes', async () => {
    const m2 = machines[1]!;
    const file = path.join(workDir, 'evil-4.0.0.tar.gz');
    await writeFile(
      file,
      tarGz([
        { name: 'server.js', data: 'boom' },
        { name: '../../../escaped.txt', data: 'x' },
      ]),
    );
    const evil = await describeFile('4.0.0', file);
    const error = await failure(platform.deploy(target(app(), m2), server.ref(evil)));
    expect(error.type).toBe(FailureType.BadPackage);
    expect(error.message).toContain('"../../../escaped.txt" has a ".." segment');
    const machineDir = path.join(deployPath, 'm2');
    expect(await readdir(path.join(machineDir, 'releases'))).toEqual(['1.0.0']);
    expect((await askVersion(m2)).version).toBe('1.0.0');
  });

  it('fails on a corrupt archive whose MD5 matches, leaving the machine as it was', async () => {
    const m2 = machines[1]!;
    const machineDir = path.join(deployPath, 'm2');
    const pid = await platform.runningPid(target(app(), m2));
    const whole = await readFile(v3.file);
    // Real packages damaged after they were recorded: the MD5 is the damaged bytes', so the
    // download passes its check and the unpack is what fails.
    const corrupt = [
      {
        version: '6.0.0',
        bytes: whole.subarray(0, whole.length - 20),
        message: 'the package is not a valid gzip file: unexpected end of file',
      },
      {
        version: '6.0.1',
        bytes: gzipSync(gunzipSync(whole).subarray(0, 512 * 3)),
        message: 'the package archive is corrupt: the tar archive is truncated',
      },
    ];
    for (const { version, bytes, message } of corrupt) {
      const file = path.join(workDir, `corrupt-${version}.tar.gz`);
      await writeFile(file, bytes);
      const pkg = await describeFile(version, file);
      const error = await failure(platform.deploy(target(app(), m2), server.ref(pkg)));
      expect(error.type).toBe(FailureType.BadPackage);
      expect(error.message).toContain(message);
      expect(error.message).toContain('rebuild the package');
      expect(error.message).not.toContain('secret-signature');
      expect(server.downloads(pkg)).toBe(1);

      expect(await readlink(path.join(machineDir, 'current'))).toBe('releases/1.0.0');
      expect(await readdir(path.join(machineDir, 'releases'))).toEqual(['1.0.0']);
      expect(await readdir(path.join(machineDir, 'incoming'))).toEqual([]);
      expect(await platform.runningPid(target(app(), m2))).toBe(pid);
      expect(processGone(pid!)).toBe(false);
      expect((await askVersion(m2)).version).toBe('1.0.0');
      expect(await platform.health(target(app(), m2))).toEqual({ healthy: true, status: 200 });
    }
  });

  it('stops at once when cancelled before it starts', async () => {
    const m2 = machines[1]!;
    const controller = new AbortController();
    controller.abort();
    await expect(
      platform.deploy(target(app(), m2), server.ref(v2), { signal: controller.signal }),
    ).rejects.toThrow();
    expect((await askVersion(m2)).version).toBe('1.0.0');
  });

  it('fails with Unavailable and the log tail when the new version never gets healthy', async () => {
    const sick = appRuntime(deployPath, {
      name: 'sick',
      start_cmd: 'echo "booting $RELGUARD_VERSION on $PORT"; exec sleep 30',
      health_check: { path: '/healthz', timeout_seconds: 1 },
    });
    const machine = await machineOnFreePort('sick-1');
    const startedAt = Date.now();
    const error = await failure(platform.deploy(target(sick, machine), server.ref(v1)));
    expect(error.type).toBe(FailureType.Unavailable);
    expect(error.message).toContain(
      `http://127.0.0.1:${machine.port}/healthz did not answer 2xx within 1 s`,
    );
    expect(error.message).toContain(`booting 1.0.0 on ${machine.port}`);
    expect(Date.now() - startedAt).toBeLessThan(5000);
    const pid = await platform.runningPid(target(sick, machine));
    expect(pid).toBeDefined();
    await platform.stop(target(sick, machine));
    expect(processGone(pid!)).toBe(true);
  });

  it('fails at once when the started process exits', async () => {
    const crashing = appRuntime(deployPath, {
      name: 'crashing',
      start_cmd: 'echo "missing config file" >&2; exit 3',
      health_check: { path: '/healthz', timeout_seconds: 20 },
    });
    const machine = await machineOnFreePort('crash-1');
    const startedAt = Date.now();
    const error = await failure(platform.deploy(target(crashing, machine), server.ref(v1)));
    expect(error.type).toBe(FailureType.Unavailable);
    expect(error.message).toContain('its process exited');
    expect(error.message).toContain('missing config file');
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });

  it('runs stop_cmd in the current release before stopping the process', async () => {
    const polite = appRuntime(deployPath, {
      name: 'polite',
      stop_cmd:
        'echo "stop $RELGUARD_VERSION in $(basename "$PWD")" >> "$RELGUARD_DEPLOY_PATH/stops.log"',
    });
    const machine = await machineOnFreePort('polite-1');
    await platform.deploy(target(polite, machine), server.ref(v1));
    await platform.deploy(target(polite, machine), server.ref(v2));
    const pid = await platform.runningPid(target(polite, machine));
    await platform.stop(target(polite, machine));
    await platform.stop(target(polite, machine));
    expect(processGone(pid!)).toBe(true);
    const stops = await readFile(path.join(deployPath, 'polite-1', 'stops.log'), 'utf8');
    expect(stops).toBe('stop 1.0.0 in 1.0.0\nstop 2.0.0 in 2.0.0\n');
  });

  it('stop() leaves no process and can be repeated', async () => {
    const m3 = machines[2]!;
    const pid = await platform.runningPid(target(app(), m3));
    expect(pid).toBeDefined();
    await platform.stop(target(app(), m3));
    expect(processGone(pid!)).toBe(true);
    expect(await platform.runningPid(target(app(), m3))).toBeUndefined();
    expect((await platform.health(target(app(), m3))).healthy).toBe(false);
    await platform.stop(target(app(), m3));
    expect(await platform.currentVersion(target(app(), m3))).toBe('1.0.0');
  });

  it('keeps the newest releases and never the one it rolls back to', async () => {
    const keepTwo = new LocalPlatform({ releasesKept: 2, logger, killGraceMs: 3000 });
    const machine = await machineOnFreePort('pruned-1');
    const made = target(app(), machine, keepTwo);
    const releases = () =>
      readdir(path.join(deployPath, 'pruned-1', 'releases')).then((names) => names.sort());
    for (const pkg of [v1, v2, v3]) await keepTwo.deploy(made, server.ref(pkg));
    expect(await releases()).toEqual(['2.0.0', '3.0.0']);

    const v1Downloads = server.downloads(v1);
    await keepTwo.rollback(made, server.ref(v1));
    expect(server.downloads(v1)).toBe(v1Downloads + 1);
    expect(await releases()).toEqual(['1.0.0', '3.0.0']);
    expect((await askVersion(machine)).version).toBe('1.0.0');
    const logs = await readdir(path.join(deployPath, 'pruned-1', 'logs'));
    expect(logs.sort()).toEqual(['1.0.0.log', '3.0.0.log']);
  });
});
