import { proxyActivities } from '@temporalio/workflow';
import type { Activities, WorkerHealthReport } from '../activities';

const { checkWorkerHealth } = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 1 },
});

/**
 * Proves a worker end to end: it polls the task queue, runs workflow code from its bundle
 * and activities that reach MongoDB. `temporal-dev.sh up` runs it to know the worker is ready.
 */
export async function workerHealthWorkflow(): Promise<WorkerHealthReport> {
  return await checkWorkerHealth();
}
