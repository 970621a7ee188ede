import type { ApplicationRepository } from '../activities/db';
import type { Logger } from '../activities/logger';
import type { Releases } from './releases';

/**
 * Makes sure every application has its health watcher: those created while Temporal was down,
 * and those created before watchers existed. Runs at start-up, then every `everyMs` (every
 * `retryMs` while it fails); each start is a no-op for a watcher that runs. Stops with `signal`.
 */
export async function keepHealthWatchers(options: {
  applications: Pick<ApplicationRepository, 'list'>;
  releases: Pick<Releases, 'watchHealth'>;
  logger: Logger;
  everyMs: number;
  retryMs: number;
  signal: AbortSignal;
}): Promise<void> {
  const { applications, releases, logger, signal } = options;
  while (!signal.aborted) {
    let waitMs = options.everyMs;
    try {
      const apps = await applications.list();
      for (const app of apps) {
        if (signal.aborted) return;
        await releases.watchHealth(app);
      }
      logger.debug({ applications: apps.length }, 'health watchers checked');
    } catch (error) {
      logger.warn({ err: error }, 'could not check the health watchers; retrying');
      waitMs = options.retryMs;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}
