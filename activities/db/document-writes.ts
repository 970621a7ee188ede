import { KeyedLock } from '../platform/keyed-lock';

/** What one merged write answers each change it carried: a value, or the change's own error. */
export type ChangeOutcome<Result> = { value: Result } | { error: unknown };

/**
 * Writes of one document, one at a time, with the changes that arrive while a write is in
 * flight merged into the next single write (a group commit).
 *
 * One at a time because FerretDB v1 (the embedded store) applies an update as a read, a change
 * in memory and a write of the whole document, without isolation: two updates of one document
 * at once lose one of them, even on different fields, and a compare-and-set filter does not
 * stop it. Merged because the machines of a batch finish together: a hundred status changes of
 * one deployment are one write of it, not a hundred (each of which rewrites the whole document
 * on FerretDB, and contends for it on MongoDB).
 *
 * This serialises the writes of this process only; other processes' writes of the same
 * document are rare (the api's actions on a release) and real MongoDB applies them atomically.
 */
export class DocumentWrites {
  private readonly lock = new KeyedLock();

  /** Runs `body` when no other write of document `id` by this process is in flight. */
  async exclusive<T>(id: string, body: () => Promise<T>): Promise<T> {
    return await this.lock.run(id, body);
  }

  /**
   * A merging writer: `apply` gets every change queued for a document since its last write and
   * answers each one; a change waits for the write that carried it.
   */
  merging<Change, Result>(
    apply: (id: string, changes: Change[]) => Promise<ChangeOutcome<Result>[]>,
  ): (id: string, change: Change) => Promise<Result> {
    const queued = new Map<
      string,
      { change: Change; resolve: (value: Result) => void; reject: (error: unknown) => void }[]
    >();
    return (id, change) =>
      new Promise<Result>((resolve, reject) => {
        const queue = queued.get(id);
        if (queue !== undefined) {
          queue.push({ change, resolve, reject });
          return;
        }
        const fresh = [{ change, resolve, reject }];
        queued.set(id, fresh);
        void this.exclusive(id, async () => {
          // From here on, new changes queue for the next write.
          queued.delete(id);
          try {
            const outcomes = await apply(
              id,
              fresh.map((entry) => entry.change),
            );
            fresh.forEach((entry, i) => {
              const outcome = outcomes[i];
              if (outcome === undefined) entry.reject(new Error('the write did not answer'));
              else if ('error' in outcome) entry.reject(outcome.error);
              else entry.resolve(outcome.value);
            });
          } catch (error) {
            for (const entry of fresh) entry.reject(error);
          }
        });
      });
  }
}
