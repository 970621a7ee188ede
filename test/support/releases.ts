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
 * Health watchers as the application routes drive them, remembered instead of run: for api
 * tests of those routes. The watchers themselves run on Temporal in
 * test/integration/machine-health*.test.ts and test/workflow/app-health.test.ts.
 */
export function recordingHealthWatchers(base: Releases = releasesNotUsedHere) {
  const watched = new Set<string>();
  const releases: Releases = new Proxy(base, {
    get(target, method, receiver) {
      switch (method) {
        case 'watchHealth':
          return (app: { id: string }) => {
            watched.add(app.id);
            return Promise.resolve({ workflowId: `health-${app.id}` });
          };
        case 'stopWatchingHealth':
          return (app: { id: string }) => {
            watched.delete(app.id);
            return Promise.resolve();
          };
        default:
          return Reflect.get(target, method, receiver) as unknown;
      }
    },
  });
  return { releases, watched };
}

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
    releases: recordingHealthWatchers().releases,
    logger: createLogger('api', 'silent'),
  });
  return withToken(app, await tokenFor(store, 'admin'));
}
