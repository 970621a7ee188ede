import { describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { createPlatform, LocalPlatform, SshPlatform } from '../../activities/platform';
import { createLogger } from '../../activities/logger';

const options = { releasesKept: 3, logger: createLogger('test-platform', 'silent') };

describe('createPlatform', () => {
  it('builds the platform of each known kind', () => {
    expect(createPlatform('local', options)).toBeInstanceOf(LocalPlatform);
    expect(createPlatform('ssh', options)).toBeInstanceOf(SshPlatform);
  });

  it('refuses an unknown kind with a message that names it', () => {
    try {
      createPlatform('kubernetes', options);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RelguardError);
      expect((error as RelguardError).type).toBe(FailureType.BadConfig);
      expect((error as RelguardError).message).toBe(
        'unknown deploy platform "kubernetes"; relguard knows "local" and "ssh"',
      );
    }
  });
});
