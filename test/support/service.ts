import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';

export interface RunningService {
  process: ChildProcess;
  /** What the service printed, for the message when it fails. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a server for a test and waits until `ready()` says it answers. Fails with the
 * server's own output when it exits or does not answer in time.
 */
export async function startService(
  name: string,
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<RunningService> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const service: RunningService = {
    process: child,
    output: () => output,
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
    if (await ready().catch(() => false)) return service;
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
