import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { createPackageStore, type PackageStoreConfig } from '../../activities/package-store';

const base: PackageStoreConfig = {
  PACKAGE_STORE: 'local',
  PACKAGE_DIR: os.tmpdir(),
  PACKAGE_BASE_URL: 'http://127.0.0.1:3000/packages',
  KODO_PRIVATE: true,
  KODO_RESUMABLE_MB: 8,
  PACKAGE_UPLOAD_TIMEOUT_SECONDS: 900,
};

const kodo: PackageStoreConfig = {
  ...base,
  PACKAGE_STORE: 'kodo',
  KODO_ACCESS_KEY: 'ak',
  KODO_SECRET_KEY: 'sk',
  KODO_BUCKET: 'packages',
  KODO_DOMAIN: 'https://dl.example.com/',
};

function failureOf(build: () => unknown): RelguardError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(RelguardError);
    return error as RelguardError;
  }
  throw new Error('expected a failure');
}

describe('createPackageStore', () => {
  it('builds the local store', () => {
    const store = createPackageStore(base);
    expect(store.kind).toBe('local');
    expect(store.url('demo/demo-1.tar.gz')).toBe(
      'http://127.0.0.1:3000/packages/demo/demo-1.tar.gz',
    );
  });

  it('builds the kodo store', () => {
    const store = createPackageStore(kodo);
    expect(store.kind).toBe('kodo');
    expect(store.url('demo/demo-1.tar.gz')).toBe('https://dl.example.com/demo/demo-1.tar.gz');
  });

  it('refuses an unknown kind and names it', () => {
    const failure = failureOf(() => createPackageStore({ ...base, PACKAGE_STORE: 's3' }));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain('"s3"');
  });

  it('names the Kodo settings that are missing', () => {
    const failure = failureOf(() =>
      createPackageStore({ ...kodo, KODO_SECRET_KEY: undefined, KODO_DOMAIN: undefined }),
    );
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toBe('PACKAGE_STORE=kodo needs KODO_SECRET_KEY, KODO_DOMAIN');
  });
});
