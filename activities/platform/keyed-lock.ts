/**
 * Runs calls with the same key one after another, calls with different keys side by side:
 * two activities for one machine (a retry overlapping a slow attempt) must not interleave
 * their steps, while different machines deploy in parallel. It serialises within this
 * process only; Temporal's one-release-per-application rule covers the rest.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, body: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(body);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
