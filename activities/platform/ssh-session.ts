import { createHash } from 'node:crypto';
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { FailureType, RelguardError } from '../../domain/errors';
import type { Logger } from '../logger';
import { shellQuote } from './shell-quote';

/** What a host key verifier is told; `fingerprint` is OpenSSH's "SHA256:…" form. */
export interface HostKeyInfo {
  host: string;
  port: number;
  fingerprint: string;
  key: Buffer;
}

/**
 * Decides whether to trust a machine's host key. The seam for known_hosts or pinned
 * fingerprints; the default accepts every key and logs its fingerprint.
 */
export type HostKeyVerifier = (info: HostKeyInfo) => boolean | Promise<boolean>;

export function acceptAndLogHostKey(logger: Logger): HostKeyVerifier {
  return ({ host, port, fingerprint }) => {
    logger.info({ host, port, fingerprint }, 'accepted ssh host key without verification');
    return true;
  };
}

export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export interface SshEndpoint {
  host: string;
  port: number;
  username: string;
  privateKey: Buffer;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Commands print a version, a pid, a log tail; more than this is a runaway command.
const maxOutputBytes = 256 * 1024;

/**
 * One ssh connection to one machine, for the length of one platform call. Every command runs
 * under `sh -c`, whatever the user's login shell is.
 */
export class SshSession {
  private sftpChannel: Promise<SFTPWrapper> | undefined;

  private constructor(
    private readonly client: Client,
    readonly label: string,
  ) {}

  static async open(
    endpoint: SshEndpoint,
    options: { verifyHostKey: HostKeyVerifier; readyTimeoutMs: number; signal?: AbortSignal },
  ): Promise<SshSession> {
    const label = `${endpoint.username}@${endpoint.host}:${endpoint.port}`;
    const client = new Client();
    let refusedFingerprint: string | undefined;
    options.signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        client.destroy();
        reject(options.signal?.reason as Error);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      client.once('error', (error: Error & { level?: string }) => {
        options.signal?.removeEventListener('abort', onAbort);
        reject(
          refusedFingerprint !== undefined
            ? new RelguardError(
                FailureType.BadConfig,
                `the host key of ${label} (${refusedFingerprint}) was refused; if the machine was reinstalled, trust its new key, else find out who answers at that address`,
                { endpoint: label, fingerprint: refusedFingerprint },
              )
            : error.level === 'client-authentication'
              ? new RelguardError(
                  FailureType.BadConfig,
                  `ssh login to ${label} was refused: ${error.message}; check the machine's ssh user and key_path, and that the key is in its authorized_keys`,
                  { endpoint: label },
                )
              : new RelguardError(
                  FailureType.Unavailable,
                  `cannot reach ${label} over ssh: ${error.message}`,
                  { endpoint: label },
                ),
        );
      });
      client.connect({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.username,
        privateKey: endpoint.privateKey,
        readyTimeout: options.readyTimeoutMs,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          const fingerprint = hostKeyFingerprint(key);
          const decide = (trusted: boolean) => {
            if (!trusted) refusedFingerprint = fingerprint;
            verify(trusted);
          };
          Promise.resolve(
            options.verifyHostKey({ host: endpoint.host, port: endpoint.port, fingerprint, key }),
          ).then(decide, () => decide(false));
        },
      });
    });
    // Errors after the handshake surface through the command that was running.
    client.on('error', () => undefined);
    return new SshSession(client, label);
  }

  /** Runs `script` with `sh -c`; answers its exit code and output, whatever the code. */
  exec(script: string, signal?: AbortSignal): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(`sh -c ${shellQuote(script)}`, (error, channel: ClientChannel) => {
        if (error) {
          reject(this.unavailable(`could not run a command: ${error.message}`));
          return;
        }
        let stdout = '';
        let stderr = '';
        const onAbort = () => channel.close();
        signal?.addEventListener('abort', onAbort, { once: true });
        channel.on('data', (chunk: Buffer) => {
          if (stdout.length < maxOutputBytes) stdout += chunk.toString('utf8');
        });
        channel.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < maxOutputBytes) stderr += chunk.toString('utf8');
        });
        channel.on('close', (code: number | null) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) reject(signal.reason as Error);
          else resolve({ code: code ?? null, stdout, stderr });
        });
      });
    });
  }

  /** Runs `script`; a non-zero exit is an Unavailable error that says what `what` was. */
  async run(what: string, script: string, signal?: AbortSignal): Promise<string> {
    const result = await this.exec(script, signal);
    if (result.code !== 0) {
      throw this.unavailable(
        `${what} failed (exit ${result.code ?? 'unknown'}): ${result.stderr.trim() || result.stdout.trim()}`,
        { exit_code: result.code, stderr: result.stderr },
      );
    }
    return result.stdout;
  }

  /** Copies a local file to `remotePath` over SFTP. */
  async upload(localPath: string, remotePath: string, signal?: AbortSignal): Promise<void> {
    const sftp = await this.sftp();
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      // SFTP has no cancel; closing the connection is the only way to stop a transfer.
      const onAbort = () => this.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      sftp.fastPut(localPath, remotePath, (error) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(signal.reason as Error);
        else if (error)
          reject(this.unavailable(`upload to ${remotePath} failed: ${error.message}`));
        else resolve();
      });
    });
  }

  close(): void {
    this.client.end();
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpChannel ??= new Promise((resolve, reject) => {
      this.client.sftp((error, sftp) => {
        if (error) reject(this.unavailable(`could not open sftp: ${error.message}`));
        else resolve(sftp);
      });
    });
    return this.sftpChannel;
  }

  private unavailable(message: string, details: Record<string, unknown> = {}): RelguardError {
    return new RelguardError(FailureType.Unavailable, `${this.label}: ${message}`, {
      endpoint: this.label,
      ...details,
    });
  }
}
