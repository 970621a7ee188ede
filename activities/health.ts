import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';

export interface WorkerHealthReport {
  /** The worker that ran the check: host and pid. */
  worker: string;
  taskQueue: string;
  mongo: 'ok' | 'error';
  checkedAt: number;
}

export interface HealthDeps {
  pingMongo(): Promise<boolean>;
}

export function createHealthActivities(deps: HealthDeps) {
  return {
    /** Reports whether this worker reaches its dependencies. Read-only, so safe to retry. */
    async checkWorkerHealth(): Promise<WorkerHealthReport> {
      const { taskQueue } = Context.current().info;
      return {
        worker: `${hostname()}/${process.pid}`,
        taskQueue,
        mongo: (await deps.pingMongo()) ? 'ok' : 'error',
        checkedAt: Date.now(),
      };
    },
  };
}
