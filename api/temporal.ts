import { Connection } from '@temporalio/client';
import type { TemporalHealth } from './context';

/**
 * A Temporal connection that is made on first use, so the api starts (and reports 503) while
 * Temporal is down, and reconnects when it is back.
 */
export function connectTemporal(address: string, timeoutMs: number) {
  const connection = Connection.lazy({ address });
  const health: TemporalHealth = {
    async check() {
      try {
        // Answered only by a frontend that serves the workflow API, unlike a bare TCP check.
        await connection.withDeadline(Date.now() + timeoutMs, () =>
          connection.workflowService.getSystemInfo({}),
        );
        return true;
      } catch {
        return false;
      }
    },
  };
  return { connection, health };
}
