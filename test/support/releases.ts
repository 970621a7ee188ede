import { createLogger } from '../../activities/logger';
import { createApp, type ApiOptions } from '../../api/app';
import type { Releases } from '../../api/releases';
import { tokenFor, withToken, type TestApi } from './api-token';

/**
 * For api tests of routes that never start or signal a release: any use is a test bug, and
 * says so. The release routes are tested against a real Temporal (test/integration).
 */
export const releasesNotUsedHere: Releases = new Proxy({} as Releases, {
  get(_, method) {
    return () => {
      throw new Error(`this test does not expect the api to call releases.${String(method)}`);
    };
  },
});

/**
 * The api over real storage, called with an admin token, for tests of routes that need
 * neither Temporal nor releases:
 * /healthz is proven against a real Temporal in api-health.test.ts, and releases in
 * test/integration/release.test.ts.
 */
export async function storeOnlyApp(store: ApiOptions['store']): Promise<TestApi> {
  const app = createApp({
    store,
    temporal: { check: () => Promise.resolve(true) },
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
  });
  return withToken(app, await tokenFor(store, 'admin'));
}
