import { spawn } from 'node:child_process';
import { projectRoot } from './tools';

export interface WorkerProcess {
  pid: number;
  /** The tail of what the worker printed, for the message when a test fails. */
  output(): string;
  /** Whether the worker has exited (killed or on its own). */
  exited(): boolean;
  /** Resolves with the exit code (or signal) when the worker exits. */
  exit: Promise<number | NodeJS.Signals | null>;
}

/**
 * Starts `worker/main.ts` as a process of its own (the way `npm run worker` does) with `env`
 * (a stack's workerEnv) and waits until it says it started.
 */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    // Its own process group, so that a kill takes everything it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let started = false;
  let exited = false;
  // Read to the end, always: a worker whose pipe fills up blocks on its next log line.
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exit = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(code ?? signal);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 60_000);
    const watch = () => {
      if (!started && output.includes('"msg":"worker started"')) {
        started = true;
        clearTimeout(timer);
        child.stdout.off('data', watch);
        resolve();
      }
    };
    child.stdout.on('data', watch);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}):\n${output}`));
    });
  });
  return { pid: child.pid!, output: () => output, exited: () => exited, exit };
}

/** Sends `signal` to the worker's whole process group and waits until the worker has exited. */
export async function kill(worker: WorkerProcess, signal: NodeJS.Signals): Promise<void> {
  if (worker.exited()) return;
  try {
    process.kill(-worker.pid, signal);
  } catch (error) {
    // Gone between the check and the kill.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  await worker.exit;
}
