import { describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { packageKey } from '../../activities/package-build';

const sha256 = 'c0ffee'.repeat(10) + 'c0ff';

describe('packageKey', () => {
  it.each([
    ['demo', 'v1.0.0', `demo/${sha256}/demo-v1.0.0.tar.gz`],
    [
      'payments-api',
      '2024.06.01-rc_1+build.7',
      `payments-api/${sha256}/payments-api-2024.06.01-rc_1+build.7.tar.gz`,
    ],
  ])('keys %s %s by its content', (appName, version, key) => {
    expect(packageKey(appName, version, sha256)).toBe(key);
  });

  it.each(['', 'A'.repeat(64), 'a'.repeat(63), '../x'])('refuses %j as a digest', (digest) => {
    expect(() => packageKey('demo', 'v1.0.0', digest)).toThrow(/is not a SHA-256 digest/);
  });

  it.each([
    ['demo', 'release/1.0'],
    ['demo', '..'],
    ['demo', '1..2'],
    ['demo', '1.0 beta'],
    ['demo', '-rf'],
    ['demo', ''],
    ['demo', 'v1\n'],
    ['Demo', '1.0.0'],
    ['../demo', '1.0.0'],
  ])('refuses %j %j', (appName, version) => {
    let failure: unknown;
    try {
      packageKey(appName, version, sha256);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(RelguardError);
    expect((failure as RelguardError).type).toBe(FailureType.BadConfig);
    expect((failure as RelguardError).message).toContain(
      JSON.stringify(appName === 'demo' ? version : appName),
    );
  });
});
