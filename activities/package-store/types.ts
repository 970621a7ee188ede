/**
 * A package store: where built packages live and where machines fetch them from.
 * Keys look like `<app>/<app>-<version>.tar.gz`.
 */
export interface PackageStore {
  readonly kind: 'local' | 'kodo';

  /** Stores the file under `key`; storing the same key again replaces it (idempotent). */
  put(key: string, filePath: string, options?: { signal?: AbortSignal }): Promise<void>;

  /** The URL recorded in PackageInfo.url: stable, maybe not fetchable without signing. */
  url(key: string): string;

  /** A URL a machine can GET the package from for at least `ttlSeconds` (signed when private). */
  downloadUrl(key: string, ttlSeconds: number): Promise<string>;

  /** Whether the key exists in the store. */
  exists(key: string): Promise<boolean>;
}
