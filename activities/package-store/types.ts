import { FailureType, RelguardError } from '../../domain/errors';

/**
 * A package store: where built packages live and where machines fetch them from.
 * Keys look like `<app>/<sha256>/<app>-<version>.tar.gz` (see packageKey): content-addressed.
 */
export interface PackageStore {
  readonly kind: 'local' | 'kodo';

  /**
   * Stores the file under `key`, once. The file must have `digests` (else BadPackage, nothing
   * stored). A key that holds these very bytes already is fine ('existed'); a key that holds
   * other bytes is a Conflict that names both, and the stored object stays as it was: a
   * stored package is never overwritten. Idempotent.
   */
  put(
    key: string,
    filePath: string,
    digests: PackageDigests,
    options?: PutOptions,
  ): Promise<'stored' | 'existed'>;

  /** The URL recorded in PackageInfo.url: stable, maybe not fetchable without signing. */
  url(key: string): string;

  /** A URL a machine can GET the package from for at least `ttlSeconds` (signed when private). */
  downloadUrl(key: string, ttlSeconds: number): Promise<string>;

  /** Whether the key exists in the store. */
  exists(key: string): Promise<boolean>;
}

/** What a build or an upload measured of a package file. */
export interface PackageDigests {
  md5: string;
  sha256: string;
  size: number;
}

/**
 * Refuses (BadPackage) a file whose bytes are not the ones measured for `key` when it was built:
 * a store keeps only the package whose digests were recorded.
 */
export function assertMeasured(
  found: { sha256: string; size: number },
  digests: PackageDigests,
  key: string,
  filePath: string,
): void {
  if (found.sha256 === digests.sha256 && found.size === digests.size) return;
  throw new RelguardError(
    FailureType.BadPackage,
    `package file ${filePath} has SHA-256 ${found.sha256} (${found.size} bytes), not the ${digests.sha256} (${digests.size} bytes) measured for ${key}: it changed after it was built; nothing was stored`,
    { key, sha256: found.sha256, expected_sha256: digests.sha256 },
  );
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Told of each step of a long upload (a part sent), for activity heartbeats. */
  onProgress?: (step: string) => void;
}
