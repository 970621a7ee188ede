import type { Releases } from '../../api/releases';

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
