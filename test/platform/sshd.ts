import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/free-port';
import { startService, type RunningService } from '../support/service';

const run = promisify(execFile);
export const sshdPath = process.env.SSHD_BIN ?? '/usr/sbin/sshd';

export interface TestSshd {
  port: number;
  /** The private key the tests log in with (its public half is authorised). */
  clientKeyPath: string;
  /** The host key's fingerprint as `ssh-keygen -l` prints it ("SHA256:…"). */
  hostFingerprint: string;
  user: string;
  stop(): Promise<void>;
}

/** Answers once sshd sends its banner, not merely when the port accepts. */
function bannerSeen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (seen: boolean) => {
      socket.destroy();
      resolve(seen);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
  });
}

/**
 * A real OpenSSH server of the test's own on a free loopback port, with its own host key and
 * one authorised client key, both made for the test. Runs as the current user (root in CI).
 */
export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(sshdPath)) {
    throw new Error(
      `${sshdPath} is missing: install it with apt-get install -y --no-install-recommends openssh-server`,
    );
  }
  const home = await mkdtemp(path.join(os.tmpdir(), 'relguard-sshd-'));
  const hostKey = path.join(home, 'host_ed25519');
  const clientKeyPath = path.join(home, 'client_ed25519');
  await Promise.all([
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'relguard-test-host', '-f', hostKey]),
    run('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'relguard-test-client',
      '-f',
      clientKeyPath,
    ]),
  ]);
  await writeFile(path.join(home, 'authorized_keys'), await readFile(`${clientKeyPath}.pub`));
  const { stdout } = await run('ssh-keygen', ['-l', '-f', `${hostKey}.pub`]);
  const hostFingerprint = stdout.split(' ')[1]!;
  // sshd refuses to start without its privilege separation folder.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = path.join(home, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(home, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(home, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const service: RunningService = await startService(
    'sshd',
    sshdPath,
    ['-D', '-e', '-f', config],
    () => bannerSeen(port),
  );
  return {
    port,
    clientKeyPath,
    hostFingerprint,
    user: os.userInfo().username,
    async stop() {
      await service.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
