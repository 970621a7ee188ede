import { MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable, throughStoreOutage } from '../../activities/db/store-outage';

const busy = () =>
  new MongoServerError({ message: 'database is locked (5) (SQLITE_BUSY)', code: 1 });

describe('throughStoreOutage', () => {
  it('tells an outage (refused connection, SQLite busy, FerretDB stopping) from an error of the call', () => {
    expect(isStoreUnavailable(new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:1'))).toBe(
      true,
    );
    expect(isStoreUnavailable(busy())).toBe(true);
    // What FerretDB answered an operation it was running when it got SIGTERM.
    const stopping = new MongoServerError({
      message:
        '[msg_find.go:344 handler.handleMaxTimeMSError] [collection.go:94 sqlite.(*collection).Query] context canceled',
      code: 1,
    });
    expect(isStoreUnavailable(stopping)).toBe(true);
    expect(isStoreUnavailable(new MongoServerError({ message: 'E11000 duplicate key' }))).toBe(
      false,
    );
    expect(isStoreUnavailable(new Error('connect ECONNREFUSED'))).toBe(false);
  });

  it('calls again while the store is unavailable, saying so before each wait', async () => {
    let calls = 0;
    const waits: number[] = [];
    const answer = await throughStoreOutage(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(busy()) : Promise.resolve('written');
      },
      { maxWaitMs: 10_000, onWait: (_error, attempt) => waits.push(attempt) },
    );
    expect(answer).toBe('written');
    expect(waits).toEqual([1, 2]);
  });

  it('gives up after maxWaitMs, and at once on an error that is not an outage', async () => {
    await expect(
      throughStoreOutage(() => Promise.reject(busy()), { maxWaitMs: 0 }),
    ).rejects.toThrow(/SQLITE_BUSY/);
    let calls = 0;
    await expect(
      throughStoreOutage(
        () => {
          calls++;
          return Promise.reject(new Error('machine m1 is not a machine of shop'));
        },
        { maxWaitMs: 10_000 },
      ),
    ).rejects.toThrow(/not a machine/);
    expect(calls).toBe(1);
  });

  it('stops waiting when the activity is cancelled', async () => {
    const cancelled = new AbortController();
    const waiting = throughStoreOutage(() => Promise.reject(busy()), {
      maxWaitMs: 60_000,
      signal: cancelled.signal,
      onWait: () => cancelled.abort(),
    });
    await expect(waiting).rejects.toThrow(/abort/i);
  });
});
