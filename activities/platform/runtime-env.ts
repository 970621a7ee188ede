import type { MachineTarget } from './types';

/**
 * The variables the design promises every start_cmd and stop_cmd, on every platform. The
 * local platform adds them to the allow-listed environment of command-env.ts (and
 * RELGUARD_START_ID to start_cmd's); the ssh platform puts them, and nothing of the worker's
 * environment, before the command it sends.
 */
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
