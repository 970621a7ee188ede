import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

export interface RunningService {
  process: ChildProcess;
  /** What the service printed, for the message when it fails. */
  output(): string;
  /** Whether the process has exited (stopped, killed or on its own). */
  exited(): boolean;
  /** Resolves with the exit code (or signal) when the process exits. */
  exit: Promise<number | NodeJS.Signals | null>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** In a process group of its own, so that a signal to the group takes what it started. */
  detached?: boolean;
}

/**
 * Spawns a server for a test and waits until `ready(output)` says it answers. Fails with the
 * server's own output when it exits or does not answer in time (and stops it then).
 */
export async function startService(
  name: string,
  command: string,
  args: string[],
  ready: (output: string) => Promise<boolean>,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const { timeoutMs = 30_000, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // Read to the end, always: a process whose pipe fills up blocks on its next write.
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  const exit = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(code ?? signal);
    }),
  );

  const service: RunningService = {
    process: child,
    output: () => output,
    exited: () => exited,
    exit,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exit.then(() => true), delay(10_000, false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${name} exited before it was ready:\n${output}`);
    if (await ready(output).catch(() => false)) return service;
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`${name} did not become ready in ${timeoutMs} ms:\n${output}`);
    }
    await delay(100);
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return response.ok;
}

/** A service a test stops and starts again on the same port and data, then disposes of. */
export interface RestartableService {
  /** Stops the service and keeps its data, for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, after stop(). */
  restart(): Promise<void>;
  /** Stops the service and removes its data. */
  dispose(): Promise<void>;
}

/** Starts `launch()` now, and again on restart(); `dataDir` is removed by dispose(). */
export async function restartable(
  launch: () => Promise<RunningService>,
  dataDir: string,
): Promise<RestartableService> {
  let service: RunningService | undefined = await launch();
  return {
    async stop() {
      await service?.stop();
      service = undefined;
    },
    async restart() {
      service ??= await launch();
    },
    async dispose() {
      await service?.stop();
      service = undefined;
      await rm(dataDir, { force: true, recursive: true });
    },
  };
}
