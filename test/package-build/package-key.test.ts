import { describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { packageKey } from '../../activities/package-build';

describe('packageKey', () => {
  it.each([
    ['demo', 'v1.0.0', 'demo/demo-v1.0.0.tar.gz'],
    [
      'payments-api',
      '2024.06.01-rc_1+build.7',
      'payments-api/payments-api-2024.06.01-rc_1+build.7.tar.gz',
    ],
  ])('keys %s %s', (appName, version, key) => {
    expect(packageKey(appName, version)).toBe(key);
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
      packageKey(appName, version);
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
