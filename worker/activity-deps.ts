import path from 'node:path';
import type { ActivityDeps } from '../activities';
import type { Store } from '../activities/db';
import type { Logger } from '../activities/logger';
import { createPackageStore } from '../activities/package-store';
import { createPlatform } from '../activities/platform';
import type { Config } from '../domain/config';

/** The activities' dependencies, built from the configuration once per worker process. */
export function activityDeps(config: Config, store: Store, logger: Logger): ActivityDeps {
  const platformOptions = { releasesKept: config.DEPLOY_RELEASES_KEPT, logger };
  return {
    store,
    packageStore: createPackageStore(
      { ...config, PACKAGE_DIR: path.resolve(config.PACKAGE_DIR) },
      { logger },
    ),
    platforms: {
      local: createPlatform('local', platformOptions),
      ssh: createPlatform('ssh', platformOptions),
    },
    buildDir: path.resolve(config.BUILD_DIR),
    packageUrlTtlSeconds: config.PACKAGE_URL_TTL_SECONDS,
    logger,
  };
}
