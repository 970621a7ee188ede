import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface RelguardWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** A prebuilt bundle (tests build it once); by default the worker bundles workflows/. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** The one place that decides what a relguard worker registers. */
export async function createWorker(options: RelguardWorkerOptions): Promise<Worker> {
  return await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
  });
}
