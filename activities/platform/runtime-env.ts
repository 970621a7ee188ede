import { configVariables } from '../../domain/config';
import type { MachineTarget } from './types';

// Variables relguard itself may hold that are not in its config schema (SDKs read them).
const secretName = /(SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;
const relguardOwn = new Set<string>(configVariables);

/**
 * The environment a start_cmd or stop_cmd inherits from relguard's own: everything but
 * relguard's configuration and anything named like a secret, so that an application never
 * sees relguard's credentials.
 */
export function inheritedEnv(base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined || relguardOwn.has(name) || secretName.test(name)) continue;
    env[name] = value;
  }
  return env;
}

/** The variables the design promises every start_cmd and stop_cmd. */
export function releaseEnv(
  { app, machine }: MachineTarget,
  version: string,
  machineDir: string,
): Record<string, string> {
  return {
    PORT: String(machine.port),
    HOST: machine.host,
    RELGUARD_APP: app.name,
    RELGUARD_VERSION: version,
    RELGUARD_MACHINE_ID: machine.id,
    RELGUARD_DEPLOY_PATH: machineDir,
  };
}
