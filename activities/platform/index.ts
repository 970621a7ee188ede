import { FailureType, RelguardError } from '../../domain/errors';
import { LocalPlatform, type LocalPlatformOptions } from './local';
import { SshPlatform, type SshPlatformOptions } from './ssh';
import type { DeployPlatform } from './types';

export type { DeployPlatform } from './types';
export { LocalPlatform, type LocalPlatformOptions } from './local';
export { SshPlatform, type SshPlatformOptions } from './ssh';

export const platformKinds = ['local', 'ssh'] as const;
export type PlatformKind = (typeof platformKinds)[number];

/** Options for any platform; each takes what it understands. */
export type PlatformOptions = LocalPlatformOptions &
  Omit<SshPlatformOptions, keyof LocalPlatformOptions>;

/**
 * The deploy platform of a kind. `kind` is typed loosely because it comes from stored
 * configuration: an unknown kind is a BadConfig error that names it.
 */
export function createPlatform(
  kind: PlatformKind | (string & {}),
  options: PlatformOptions,
): DeployPlatform {
  switch (kind) {
    case 'local':
      return new LocalPlatform(options);
    case 'ssh':
      return new SshPlatform(options);
    default:
      throw new RelguardError(
        FailureType.BadConfig,
        `unknown deploy platform "${kind}"; relguard knows ${platformKinds.map((known) => `"${known}"`).join(' and ')}`,
        { kind },
      );
  }
}
