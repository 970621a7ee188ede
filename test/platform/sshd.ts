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

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** One host key of the test sshd, as OpenSSH shows it. */
export interface TestHostKey {
  /** The type known_hosts names: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa. */
  type: string;
  /** As `ssh-keygen -l` prints it ("SHA256:…"). */
  fingerprint: string;
  /** The `.pub` file's "type base64" part. */
  publicKey: string;
}

export interface TestSshd {
  port: number;
  /** The private key the tests log in with (its public half is authorised). */
  clientKeyPath: string;
  /** The first host key's fingerprint as `ssh-keygen -l` prints it ("SHA256:…"). */
  hostFingerprint: string;
  /** Every host key the server has now (changeHostKeys() replaces them). */
  hostKeys: TestHostKey[];
  /**
   * A known_hosts file that lists this server's keys as they are now, as `ssh-keyscan` would
   * write them (`[127.0.0.1]:port type key`), hashed with `ssh-keygen -H` when asked.
   */
  writeKnownHosts(file: string, options?: { hashed?: boolean; types?: string[] }): Promise<void>;
  /** Stops the server and starts it again on the same port with new host keys. */
  changeHostKeys(): Promise<void>;
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

async function makeHostKeys(home: string, types: readonly HostKeyType[]): Promise<string[]> {
  const files = types.map((type) => path.join(home, `host_${type}`));
  await Promise.all(
    types.map(async (type, index) => {
      await rm(files[index]!, { force: true });
      await rm(`${files[index]!}.pub`, { force: true });
      await run('ssh-keygen', [
        '-q',
        '-t',
        type,
        '-N',
        '',
        '-C',
        'relguard-test-host',
        '-f',
        files[index]!,
      ]);
    }),
  );
  return files;
}

async function describeHostKeys(files: readonly string[]): Promise<TestHostKey[]> {
  return await Promise.all(
    files.map(async (file) => {
      const { stdout } = await run('ssh-keygen', ['-l', '-f', `${file}.pub`]);
      const [type, base64] = (await readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/);
      return { type: type!, fingerprint: stdout.split(' ')[1]!, publicKey: `${type} ${base64}` };
    }),
  );
}

/**
 * A real OpenSSH server of the test's own on a free loopback port, with its own host keys (one
 * per type asked, ed25519 by default) and one authorised client key, both made for the test.
 * Runs as the current user (root in CI).
 */
export async function startSshd(
  options: { hostKeyTypes?: readonly HostKeyType[] } = {},
): Promise<TestSshd> {
  if (!existsSync(sshdPath)) {
    throw new Error(
      `${sshdPath} is missing: install it with apt-get install -y --no-install-recommends openssh-server`,
    );
  }
  const types = options.hostKeyTypes ?? ['ed25519'];
  const home = await mkdtemp(path.join(os.tmpdir(), 'relguard-sshd-'));
  const clientKeyPath = path.join(home, 'client_ed25519');
  const [hostKeyFiles] = await Promise.all([
    makeHostKeys(home, types),
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
  // sshd refuses to start without its privilege separation folder.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = path.join(home, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      ...hostKeyFiles.map((file) => `HostKey ${file}`),
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
  const launch = () =>
    startService('sshd', sshdPath, ['-D', '-e', '-f', config], () => bannerSeen(port));
  let service: RunningService = await launch();
  const sshd: TestSshd = {
    port,
    clientKeyPath,
    hostKeys: await describeHostKeys(hostKeyFiles),
    get hostFingerprint() {
      return sshd.hostKeys[0]!.fingerprint;
    },
    async writeKnownHosts(file, { hashed = false, types: only } = {}) {
      const lines = sshd.hostKeys
        .filter((key) => only === undefined || only.includes(key.type))
        .map((key) => `[127.0.0.1]:${port} ${key.publicKey}\n`);
      await writeFile(file, lines.join(''));
      if (hashed) {
        await run('ssh-keygen', ['-H', '-f', file]);
        await rm(`${file}.old`, { force: true });
      }
    },
    async changeHostKeys() {
      await service.stop();
      sshd.hostKeys = await describeHostKeys(await makeHostKeys(home, types));
      service = await launch();
    },
    user: os.userInfo().username,
    async stop() {
      await service.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
  return sshd;
}
