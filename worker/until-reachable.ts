import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../activities/logger';

const maxPauseMs = 10_000;

/**
 * Runs `connect` until it succeeds, pausing longer after each failure (up to 10 s) and logging
 * it: a worker started with, or before, the Temporal server or MongoDB it needs waits for
 * them instead of exiting, so that no supervisor has to restart it for that. Ends with the
 * last error when `signal` aborts (SIGINT or SIGTERM while waiting).
 */
export async function untilReachable<T>(
  what: string,
  connect: () => Promise<T>,
  options: { logger: Logger; signal: AbortSignal },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (options.signal.aborted) throw error;
      const pauseMs = Math.min(1000 * attempt, maxPauseMs);
      options.logger.warn(
        { err: error, attempt, retry_in_ms: pauseMs },
        `${what} cannot be reached; trying again`,
      );
      await delay(pauseMs, undefined, { signal: options.signal }).catch(() => {
        throw error;
      });
    }
  }
}
