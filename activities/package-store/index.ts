import type { Config } from '../../domain/config';
import { FailureType, RelguardError } from '../../domain/errors';
import type { Logger } from '../logger';
import { KodoPackageStore } from './kodo';
import { LocalPackageStore } from './local';
import { loadPackageUrlSecret } from './signed-url';
import type { PackageStore } from './types';

export type { PackageStore } from './types';
export { LocalPackageStore, resolvePackagePath, type LocalPackageStoreOptions } from './local';
export { KodoPackageStore, type KodoPackageStoreOptions } from './kodo';
export { loadPackageUrlSecret } from './signed-url';

/** The configuration the package stores are built from; the kind stays a string until checked. */
export type PackageStoreConfig = Pick<
  Config,
  | 'PACKAGE_DIR'
  | 'PACKAGE_BASE_URL'
  | 'PACKAGE_URL_SECRET'
  | 'KODO_ACCESS_KEY'
  | 'KODO_SECRET_KEY'
  | 'KODO_BUCKET'
  | 'KODO_DOMAIN'
  | 'KODO_UP_HOST'
  | 'KODO_PRIVATE'
  | 'KODO_RESUMABLE_MB'
  | 'PACKAGE_UPLOAD_TIMEOUT_SECONDS'
> & { PACKAGE_STORE: string };

const MiB = 1024 * 1024;

/** The package store PACKAGE_STORE names; any other name is refused. */
export function createPackageStore(
  config: PackageStoreConfig,
  deps: { logger?: Logger } = {},
): PackageStore {
  switch (config.PACKAGE_STORE) {
    case 'local':
      return new LocalPackageStore({
        dir: config.PACKAGE_DIR,
        baseUrl: config.PACKAGE_BASE_URL,
        urlSecret: loadPackageUrlSecret({
          dir: config.PACKAGE_DIR,
          secret: config.PACKAGE_URL_SECRET,
        }),
      });
    case 'kodo':
      return createKodoStore(config, deps.logger);
    default:
      throw new RelguardError(
        FailureType.BadConfig,
        `unknown package store ${JSON.stringify(config.PACKAGE_STORE)}: PACKAGE_STORE must be local or kodo`,
        { kind: config.PACKAGE_STORE },
      );
  }
}

function createKodoStore(config: PackageStoreConfig, logger?: Logger): KodoPackageStore {
  const { KODO_ACCESS_KEY, KODO_SECRET_KEY, KODO_BUCKET, KODO_DOMAIN } = config;
  if (
    KODO_ACCESS_KEY === undefined ||
    KODO_SECRET_KEY === undefined ||
    KODO_BUCKET === undefined ||
    KODO_DOMAIN === undefined
  ) {
    const missing = Object.entries({ KODO_ACCESS_KEY, KODO_SECRET_KEY, KODO_BUCKET, KODO_DOMAIN })
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    throw new RelguardError(
      FailureType.BadConfig,
      `PACKAGE_STORE=kodo needs ${missing.join(', ')}`,
      { missing },
    );
  }
  return new KodoPackageStore(
    {
      accessKey: KODO_ACCESS_KEY,
      secretKey: KODO_SECRET_KEY,
      bucket: KODO_BUCKET,
      domain: KODO_DOMAIN,
      private: config.KODO_PRIVATE,
      resumableThresholdBytes: Math.round(config.KODO_RESUMABLE_MB * MiB),
      uploadTimeoutMs: config.PACKAGE_UPLOAD_TIMEOUT_SECONDS * 1000,
      // The token must outlive the slowest upload the timeout lets run.
      uploadTokenTtlSeconds: Math.max(3600, config.PACKAGE_UPLOAD_TIMEOUT_SECONDS + 600),
      ...(config.KODO_UP_HOST === undefined ? {} : { upHost: config.KODO_UP_HOST }),
    },
    logger === undefined ? {} : { logger },
  );
}
