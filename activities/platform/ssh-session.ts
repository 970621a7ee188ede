import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { FailureType, RelguardError } from '../../domain/errors';
import type { HostKeyCheck } from './ssh-host-keys';
import { shellQuote } from './shell-quote';

export interface SshEndpoint {
  /** The machine's id, for messages. */
  machineId: string;
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

export interface SshSessionOptions {
  hostKeys: HostKeyCheck;
  /** From the TCP connect to a logged-in session (SSH_CONNECT_TIMEOUT_SECONDS). */
  connectTimeoutMs: number;
  /** How long one remote command may run (SSH_COMMAND_TIMEOUT_SECONDS). */
  commandTimeoutMs: number;
  signal?: AbortSignal;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/**
 * One ssh connection to one machine, for the length of one platform call. Every command runs
 * under `sh -c`, whatever the user's login shell is.
 */
export class SshSession {
  private sftpChannel: Promise<SFTPWrapper> | undefined;

  private constructor(
    private readonly client: Client,
    /** "machine <id> (user@host:port)", the prefix of every message. */
    readonly label: string,
    private readonly machineId: string,
    private readonly commandTimeoutMs: number,
  ) {}

  static async open(endpoint: SshEndpoint, options: SshSessionOptions): Promise<SshSession> {
    const label = `machine ${endpoint.machineId} (${endpoint.username}@${endpoint.host}:${endpoint.port})`;
    const details = {
      machine_id: endpoint.machineId,
      endpoint: `${endpoint.host}:${endpoint.port}`,
    };
    const client = new Client();
    let refusal: RelguardError | undefined;
    options.signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        client.destroy();
        reject(options.signal?.reason as Error);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => {
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      // ssh2 may report more than one error (a timeout, then the lost socket): the first counts.
      let settled = false;
      client.on('error', (error: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        client.destroy();
        reject(
          refusal ??
            (error.level === 'client-authentication'
              ? new RelguardError(
                  FailureType.BadConfig,
                  `ssh login to ${label} was refused: ${error.message}; check the machine's ssh user and key_path, and that the key is in its authorized_keys`,
                  details,
                )
              : error.level === 'client-timeout'
                ? new RelguardError(
                    FailureType.Unavailable,
                    `ssh connection to ${label} timed out after ${seconds(options.connectTimeoutMs)} (SSH_CONNECT_TIMEOUT_SECONDS) before the session was ready: ${error.message}`,
                    { ...details, timeout_ms: options.connectTimeoutMs },
                  )
                : new RelguardError(
                    FailureType.Unavailable,
                    `cannot reach ${label} over ssh: ${error.message}`,
                    details,
                  )),
        );
      });
      client.connect({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.username,
        privateKey: endpoint.privateKey,
        readyTimeout: options.connectTimeoutMs,
        algorithms: { serverHostKey: options.hostKeys.algorithms },
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          options.hostKeys.verify(key).then(
            () => verify(true),
            (error: unknown) => {
              refusal =
                error instanceof RelguardError
                  ? error
                  : new RelguardError(
                      FailureType.Unavailable,
                      `could not check the ssh host key of ${label}: ${(error as Error).message}`,
                      details,
                    );
              verify(false);
            },
          );
        },
      });
    });
    // Errors after the handshake surface through the command that was running.
    return new SshSession(client, label, endpoint.machineId, options.commandTimeoutMs);
  }

  /**
   * Runs `script` with `sh -c`; answers its exit code and output, whatever the code. `what`
   * names the command in errors; one that outlives the command timeout is an Unavailable error.
   */
  exec(what: string, script: string, signal?: AbortSignal): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      // ssh2 throws at once when the connection is gone (a command timed out, the machine left).
      const started = (body: () => void) => {
        try {
          body();
        } catch (error) {
          reject(
            this.unavailable(`could not run a command (${what}): ${(error as Error).message}`),
          );
        }
      };
      started(() =>
        this.client.exec(`sh -c ${shellQuote(script)}`, (error, channel: ClientChannel) => {
          if (error) {
            reject(this.unavailable(`could not run a command (${what}): ${error.message}`));
            return;
          }
          let stdout = '';
          let stderr = '';
          const onAbort = () => channel.close();
          signal?.addEventListener('abort', onAbort, { once: true });
          const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            reject(
              this.unavailable(
                `${what} did not finish within ${seconds(this.commandTimeoutMs)} (SSH_COMMAND_TIMEOUT_SECONDS); relguard stopped waiting for it and closed the connection`,
                { command: what, timeout_ms: this.commandTimeoutMs },
              ),
            );
            // sshd kills the command's process group on a signal request, except for root
            // logins (no privilege separation there); the connection is not waited for either way.
            try {
              channel.signal('KILL');
            } catch {
              // The channel closed meanwhile.
            }
            this.client.destroy();
          }, this.commandTimeoutMs);
          channel.on('data', (chunk: Buffer) => {
            if (stdout.length < maxOutputBytes) stdout += chunk.toString('utf8');
          });
          channel.stderr.on('data', (chunk: Buffer) => {
            if (stderr.length < maxOutputBytes) stderr += chunk.toString('utf8');
          });
          channel.on('close', (code: number | null) => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            if (signal?.aborted) reject(signal.reason as Error);
            else resolve({ code: code ?? null, stdout, stderr });
          });
        }),
      );
    });
  }

  /** Runs `script`; a non-zero exit is an Unavailable error that says what `what` was. */
  async run(what: string, script: string, signal?: AbortSignal): Promise<string> {
    const result = await this.exec(what, script, signal);
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
      machine_id: this.machineId,
      endpoint: this.label,
      ...details,
    });
  }
}
