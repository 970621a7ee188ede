import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { SshPlatform, type SshPlatformOptions } from '../../activities/platform/ssh';
import { HostKeyTrust } from '../../activities/platform/ssh-host-keys';
import { SshSession } from '../../activities/platform/ssh-session';
import type { MachineTarget } from '../../activities/platform/types';
import { ApplicationInput, type Machine } from '../../domain';
import { FailureType, RelguardError } from '../../domain/errors';
import { startTestStore, type TestStore } from '../support/mongo';
import { startTogether } from '../support/start-together';
import { appRuntime, machineOnFreePort } from './fixtures';
import { startSshd, type TestSshd } from './sshd';

/**
 * The ssh platform's trust in host keys, against real OpenSSH servers: the man in the middle
 * is played by a server whose keys relguard does not know, or by the same server restarted
 * with new keys. Each connection is made by `currentVersion`, the platform's cheapest call.
 */
const run = promisify(execFile);
const silent = createLogger('test-host-keys', 'silent');

let workDir: string;
let deployPath: string;
/** Two host keys (ed25519, rsa): relguard must ask for the one it knows. */
let twoKeys: TestSshd;
let testStore: TestStore;

const target = (machine: Machine): MachineTarget => ({ app: appRuntime(deployPath), machine });

async function machineOf(
  sshd: TestSshd,
  id: string,
  ssh: Partial<NonNullable<Machine['ssh']>> = {},
): Promise<Machine> {
  return await machineOnFreePort(id, {
    ssh: { user: sshd.user, port: sshd.port, key_path: sshd.clientKeyPath, ...ssh },
  });
}

function platform(options: Partial<SshPlatformOptions> = {}): SshPlatform {
  return new SshPlatform({ releasesKept: 3, logger: silent, ...options });
}

async function failure(promise: Promise<unknown>): Promise<RelguardError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the call succeeded').toBeInstanceOf(RelguardError);
  return error as RelguardError;
}

async function knownHostsOf(
  sshd: TestSshd,
  name: string,
  options: { hashed?: boolean; types?: string[] } = {},
): Promise<string> {
  const file = path.join(workDir, name);
  await sshd.writeKnownHosts(file, options);
  return file;
}

/** A pino logger whose lines the test reads. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('test-host-keys', 'info', {
    write: (line: string) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, lines };
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-host-keys-'));
  deployPath = path.join(workDir, 'deploy');
  [twoKeys, testStore] = await startTogether([
    startSshd({ hostKeyTypes: ['ed25519', 'rsa'] }),
    startTestStore(),
  ]);
});

afterAll(async () => {
  await twoKeys?.stop();
  await testStore?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('known_hosts (SSH_KNOWN_HOSTS_FILE, strict)', () => {
  it('trusts a key listed in a known_hosts file hashed by ssh-keygen -H', async () => {
    const file = await knownHostsOf(twoKeys, 'hashed_known_hosts', { hashed: true });
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    expect(text).not.toContain('127.0.0.1');
    const machine = await machineOf(twoKeys, 'hashed');
    const trusting = platform({ hostKeys: { policy: 'strict', knownHostsFile: file } });
    expect(await trusting.currentVersion(target(machine))).toBeUndefined();
  });

  it('asks the server for the key type it knows, when the server has several', async () => {
    // ssh2 would take the ed25519 key first; only the rsa key is known.
    const file = await knownHostsOf(twoKeys, 'rsa_only', { types: ['ssh-rsa'] });
    const machine = await machineOf(twoKeys, 'rsa-only');
    const trusting = platform({ hostKeys: { policy: 'strict', knownHostsFile: file } });
    expect(await trusting.currentVersion(target(machine))).toBeUndefined();
  });

  it('refuses a machine the file does not list, naming it and showing the fingerprint', async () => {
    // The file knows the same server on another port only: keys are per [host]:port.
    const file = path.join(workDir, 'other_port');
    const line = await readFile(path.join(workDir, 'rsa_only'), 'utf8');
    await writeFile(file, line.replace(`]:${twoKeys.port} `, `]:${twoKeys.port + 1} `));
    const machine = await machineOf(twoKeys, 'stranger');
    const wary = platform({ hostKeys: { policy: 'strict', knownHostsFile: file } });
    const error = await failure(wary.currentVersion(target(machine)));
    expect(error.type).toBe(FailureType.BadConfig);
    const ed25519 = twoKeys.hostKeys.find((key) => key.type === 'ssh-ed25519')!;
    expect(error.message).toContain(`machine stranger (127.0.0.1:${twoKeys.port})`);
    expect(error.message).toContain(`unknown ssh host key ${ed25519.fingerprint} (ssh-ed25519)`);
    expect(error.message).toContain(file);
    expect(error.details).toMatchObject({
      machine_id: 'stranger',
      fingerprint: ed25519.fingerprint,
    });
  });

  it('refuses every machine when nothing vouches for keys (the default)', async () => {
    const machine = await machineOf(twoKeys, 'default');
    const error = await failure(platform().currentVersion(target(machine)));
    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain(`machine default (127.0.0.1:${twoKeys.port})`);
    expect(error.message).toContain('SSH_KNOWN_HOSTS_FILE is unset');
  });

  it("reads a machine's own known_hosts_path before the global file", async () => {
    const own = await knownHostsOf(twoKeys, 'own_known_hosts');
    const empty = path.join(workDir, 'empty_known_hosts');
    await writeFile(empty, '');
    const machine = await machineOf(twoKeys, 'own-file', { known_hosts_path: own });
    const trusting = platform({ hostKeys: { policy: 'strict', knownHostsFile: empty } });
    expect(await trusting.currentVersion(target(machine))).toBeUndefined();
  });

  it('refuses a key marked @revoked, even beside a line that trusts it', async () => {
    const file = await knownHostsOf(twoKeys, 'revoked');
    const ed25519 = twoKeys.hostKeys.find((key) => key.type === 'ssh-ed25519')!;
    const listed = await readFile(file, 'utf8');
    await writeFile(file, `${listed}@revoked [127.0.0.1]:${twoKeys.port} ${ed25519.publicKey}\n`);
    const machine = await machineOf(twoKeys, 'revoked');
    const wary = platform({ hostKeys: { policy: 'strict', knownHostsFile: file } });
    const error = await failure(wary.currentVersion(target(machine)));
    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain(`${ed25519.fingerprint} (ssh-ed25519), which ${file}:3`);
    expect(error.message).toContain('@revoked');
  });

  it('refuses a known_hosts file it cannot read, naming the file and the variable', async () => {
    const missing = path.join(workDir, 'no-such-known-hosts');
    const machine = await machineOf(twoKeys, 'no-file');
    const wary = platform({ hostKeys: { policy: 'strict', knownHostsFile: missing } });
    const error = await failure(wary.currentVersion(target(machine)));
    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain(`cannot read the known_hosts file ${missing}`);
    expect(error.message).toContain('SSH_KNOWN_HOSTS_FILE');
  });
});

describe('a changed host key', () => {
  it('is refused after the same server restarts with new keys, naming both fingerprints', async () => {
    const sshd = await startSshd();
    try {
      const file = await knownHostsOf(sshd, 'before_change', { hashed: true });
      const machine = await machineOf(sshd, 'reinstalled');
      const trusting = platform({ hostKeys: { policy: 'strict', knownHostsFile: file } });
      expect(await trusting.currentVersion(target(machine))).toBeUndefined();
      const before = sshd.hostFingerprint;

      await sshd.changeHostKeys();
      const after = sshd.hostFingerprint;
      expect(after).not.toBe(before);
      const error = await failure(trusting.currentVersion(target(machine)));
      expect(error.type).toBe(FailureType.BadConfig);
      expect(error.message).toContain(
        `the ssh host key of machine reinstalled (127.0.0.1:${sshd.port}) has changed`,
      );
      expect(error.message).toContain(`it presented ${after} (ssh-ed25519)`);
      expect(error.message).toContain(`relguard expects ${before} (ssh-ed25519, from ${file}:1)`);
      expect(error.details).toMatchObject({ fingerprint: after, expected: [before] });
    } finally {
      await sshd.stop();
    }
  });
});

describe("a machine's ssh.host_key_sha256", () => {
  it('trusts the pinned key without any known_hosts file, and refuses any other', async () => {
    const ed25519 = twoKeys.hostKeys.find((key) => key.type === 'ssh-ed25519')!;
    const rsa = twoKeys.hostKeys.find((key) => key.type === 'ssh-rsa')!;
    const pinned = await machineOf(twoKeys, 'pinned', { host_key_sha256: ed25519.fingerprint });
    expect(await platform().currentVersion(target(pinned))).toBeUndefined();

    // The rsa key is the server's too, but the pin names another key: the pin decides alone.
    const file = await knownHostsOf(twoKeys, 'pin_beats_file');
    const wrong = await machineOf(twoKeys, 'mispinned', { host_key_sha256: rsa.fingerprint });
    const error = await failure(
      platform({ hostKeys: { policy: 'strict', knownHostsFile: file } }).currentVersion(
        target(wrong),
      ),
    );
    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain(`machine mispinned (127.0.0.1:${twoKeys.port}) has changed`);
    expect(error.message).toContain(`it presented ${ed25519.fingerprint} (ssh-ed25519)`);
    expect(error.message).toContain(`relguard expects ${rsa.fingerprint}`);
    expect(error.message).toContain('ssh.host_key_sha256 of machine mispinned');
  });

  it('is checked as a fingerprint when the application is saved', () => {
    const input = (hostKey: string) =>
      ApplicationInput.safeParse({
        name: 'shop',
        deploy_path: '/srv/shop',
        start_cmd: 'node main.js',
        deployment_platform: 'ssh',
        machines: [
          {
            id: 'm1',
            host: 'h',
            port: 1,
            ssh: { user: 'u', key_path: '/k', host_key_sha256: hostKey },
          },
        ],
      });
    expect(input(twoKeys.hostFingerprint).success).toBe(true);
    const bad = input('md5:aa:bb');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['machines', 0, 'ssh', 'host_key_sha256']);
  });
});

describe('SSH_HOST_KEY_POLICY=accept-new', () => {
  it('pins the first key in MongoDB with a warning, then refuses a changed key', async () => {
    const sshd = await startSshd();
    try {
      const { logger, lines } = capturingLogger();
      const pins = testStore.store.sshHostKeys;
      const lab = platform({ logger, hostKeys: { policy: 'accept-new', pins } });
      const machine = await machineOf(sshd, 'lab');
      const first = sshd.hostFingerprint;

      // Five connections at once to a machine nothing is known of: one pin, one warning.
      const results = await Promise.all(
        Array.from({ length: 5 }, () => lab.currentVersion(target(machine))),
      );
      expect(results).toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(await pins.find('127.0.0.1', sshd.port)).toMatchObject({
        fingerprint: first,
        key_type: 'ssh-ed25519',
        machine_id: 'lab',
      });
      const warnings = lines.filter((line) => line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        machine_id: 'lab',
        port: sshd.port,
        fingerprint: first,
      });
      expect(warnings[0]!.msg).toContain('on first use');

      // Another platform (another worker) trusts the pinned key silently.
      const again = capturingLogger();
      const other = platform({ logger: again.logger, hostKeys: { policy: 'accept-new', pins } });
      expect(await other.currentVersion(target(machine))).toBeUndefined();
      expect(again.lines.filter((line) => line.level === 'warn')).toEqual([]);

      await sshd.changeHostKeys();
      const error = await failure(lab.currentVersion(target(machine)));
      expect(error.type).toBe(FailureType.BadConfig);
      expect(error.message).toContain(`machine lab (127.0.0.1:${sshd.port}) has changed`);
      expect(error.message).toContain(`it presented ${sshd.hostFingerprint} (ssh-ed25519)`);
      expect(error.message).toContain(`relguard expects ${first}`);
      expect(error.message).toContain('pinned on first use by machine lab');
      expect((await pins.find('127.0.0.1', sshd.port))?.fingerprint).toBe(first);
    } finally {
      await sshd.stop();
    }
  });

  it('still refuses a key that contradicts known_hosts', async () => {
    const sshd = await startSshd();
    try {
      const file = await knownHostsOf(sshd, 'lab_known_hosts');
      await sshd.changeHostKeys();
      const machine = await machineOf(sshd, 'lab-known');
      const lab = platform({
        hostKeys: { policy: 'accept-new', knownHostsFile: file, pins: testStore.store.sshHostKeys },
      });
      const error = await failure(lab.currentVersion(target(machine)));
      expect(error.message).toContain('has changed');
      expect(await testStore.store.sshHostKeys.find('127.0.0.1', sshd.port)).toBeUndefined();
    } finally {
      await sshd.stop();
    }
  });
});

describe('ssh timeouts', () => {
  it('gives up on a server that accepts TCP and never speaks (SSH_CONNECT_TIMEOUT_SECONDS)', async () => {
    const sockets: net.Socket[] = [];
    const silentServer = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    const port = (silentServer.address() as net.AddressInfo).port;
    try {
      const machine = await machineOnFreePort('mute', {
        ssh: { user: 'root', port, key_path: twoKeys.clientKeyPath },
      });
      const error = await failure(
        platform({ connectTimeoutMs: 1000 }).currentVersion(target(machine)),
      );
      expect(error.type).toBe(FailureType.Unavailable);
      expect(error.message).toContain(`ssh connection to machine mute (root@127.0.0.1:${port})`);
      expect(error.message).toContain('timed out after 1 s (SSH_CONNECT_TIMEOUT_SECONDS)');
      expect(sockets.length).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silentServer.close(resolve));
    }
  });

  it('stops waiting for a command that hangs (SSH_COMMAND_TIMEOUT_SECONDS)', async () => {
    const hostKeys = await new HostKeyTrust({ policy: 'strict', logger: silent }).prepare({
      machineId: 'slow',
      host: '127.0.0.1',
      port: twoKeys.port,
      hostKeySha256: twoKeys.hostFingerprint,
    });
    const session = await SshSession.open(
      {
        machineId: 'slow',
        host: '127.0.0.1',
        port: twoKeys.port,
        username: twoKeys.user,
        privateKey: await readFile(twoKeys.clientKeyPath),
      },
      { hostKeys, connectTimeoutMs: 10_000, commandTimeoutMs: 1000 },
    );
    // A duration no other process sleeps, to find this one by.
    const marker = `sleep 300.${process.pid}`;
    try {
      const error = await failure(session.run('waiting for the sleeper', marker));
      expect(error.type).toBe(FailureType.Unavailable);
      expect(error.message).toContain(
        `machine slow (${twoKeys.user}@127.0.0.1:${twoKeys.port}): waiting for the sleeper did not finish within 1 s (SSH_COMMAND_TIMEOUT_SECONDS)`,
      );
      expect(error.details).toMatchObject({
        machine_id: 'slow',
        command: 'waiting for the sleeper',
      });
      // The connection is closed: the next command fails at once instead of queueing behind it.
      const next = await failure(session.run('reading the state', 'true'));
      expect(next.message).toContain('machine slow');
      expect(next.message).toContain('reading the state');
    } finally {
      session.close();
    }
    // sshd kills the command on relguard's signal only for non-root logins; the test's is root.
    await run('pkill', ['-f', marker]).catch(() => undefined);
  });
});
