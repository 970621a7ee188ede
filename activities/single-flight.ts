/**
 * Calls with the same key that overlap share one run of the first one's body: the machines of
 * a batch start together and all read the same deployment, application and package, and one
 * read serves them all instead of a hundred. Nothing is kept: a call gets either a read it
 * started or the one in flight when it came, never an older one.
 */
export class SingleFlight {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  async run<T>(key: string, body: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return (await running) as T;
    const started = body();
    this.inFlight.set(key, started);
    try {
      return await started;
    } finally {
      this.inFlight.delete(key);
    }
  }
}
