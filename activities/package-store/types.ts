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

export interface PutOptions {
  signal?: AbortSignal;
  /** Told of each step of a long upload (a part sent), for activity heartbeats. */
  onProgress?: (step: string) => void;
}
