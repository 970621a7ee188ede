import { setTimeout as delay } from 'node:timers/promises';
import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';

/**
 * Whether a store error goes away by itself: MongoDB (or FerretDB) out of reach (no server to
 * select, a connection refused or broken, a pool cleared because of one: the driver's
 * PoolClearedError is a MongoNetworkError), FerretDB's SQLite busy with another writer, or
 * FerretDB stopping (it answers the operations it was running with "context canceled"). The
 * api answers these with a 503; the machine activities wait them out.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof MongoServerSelectionError || error instanceof MongoNetworkError) return true;
  return (
    error instanceof MongoServerError &&
    /SQLITE_BUSY|database is locked|context canceled/.test(error.message)
  );
}

export interface StoreOutageOptions {
  /** How long to keep trying; after that the error is the caller's. */
  maxWaitMs: number;
  /** Before each wait: to log and heartbeat. */
  onWait?: (error: unknown, attempt: number) => void;
  /** Ends the wait (the activity is cancelled). */
  signal?: AbortSignal;
}

const firstBackoffMs = 250;
const maxBackoffMs = 5000;

/**
 * Runs a store call, and again after a growing pause while the store is unavailable, for at
 * most `maxWaitMs`. For idempotent calls only (a write may have landed before the connection
 * broke): every write the machine activities make sets values, so it is.
 */
export async function throughStoreOutage<T>(
  call: () => Promise<T>,
  options: StoreOutageOptions,
): Promise<T> {
  const deadline = Date.now() + options.maxWaitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isStoreUnavailable(error) || Date.now() >= deadline) throw error;
      options.onWait?.(error, attempt);
      const pause = Math.min(firstBackoffMs * 2 ** (attempt - 1), maxBackoffMs);
      await delay(pause, undefined, options.signal ? { signal: options.signal } : {});
    }
  }
}
