import { startService, type RunningService } from './service';
import { projectRoot } from './tools';

/** A worker process of a test's own: the service, with its pid. */
export type WorkerProcess = RunningService & { pid: number };

/**
 * Starts `worker/main.ts` as a process of its own (the way `npm run worker` does) with `env`
 * (a stack's workerEnv) and waits until it says it started.
 */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const service = await startService(
    'worker',
    process.execPath,
    ['--import', 'tsx', 'worker/main.ts'],
    (output) => Promise.resolve(output.includes('"msg":"worker started"')),
    {
      timeoutMs: 60_000,
      cwd: projectRoot,
      env: { ...process.env, ...env },
      // Its own process group, so that a kill takes everything it started.
      detached: true,
    },
  );
  return Object.assign(service, { pid: service.process.pid! });
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
