/** What a test starts and must stop again: a stack, a server, a store, a browser. */
type Stoppable =
  { stop(): Promise<unknown> } | { close(): Promise<unknown> } | { teardown(): Promise<unknown> };

function isStoppable(value: unknown): value is Stoppable {
  if (typeof value !== 'object' || value === null) return false;
  return ['stop', 'close', 'teardown'].some(
    (name) => typeof (value as Record<string, unknown>)[name] === 'function',
  );
}

async function stopStarted(value: Stoppable): Promise<void> {
  if ('stop' in value) await value.stop();
  else if ('close' in value) await value.close();
  else await value.teardown();
}

/**
 * Promise.all for the parts a test starts at once. When one fails, Promise.all rejects at
 * once and leaves the others starting: they are never stopped (a FerretDB, a browser left
 * running) and the test's afterAll removes folders they are still writing. This waits for
 * every part, stops those that started (their stop, close or teardown), then throws the
 * first failure.
 */
export async function startTogether<T extends readonly unknown[] | []>(
  starting: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled: readonly PromiseSettledResult<unknown>[] = await Promise.allSettled(starting);
  const failed = settled.find(
    (result): result is PromiseRejectedResult => result.status === 'rejected',
  );
  if (failed === undefined) {
    return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as {
      -readonly [K in keyof T]: Awaited<T[K]>;
    };
  }
  for (const result of settled) {
    if (result.status === 'fulfilled' && isStoppable(result.value)) {
      await stopStarted(result.value).catch(() => undefined);
    }
  }
  throw failed.reason;
}
