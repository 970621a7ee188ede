import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where temporal-dev.sh installs the binaries; RELGUARD_TOOLS_BIN points elsewhere. */
export function toolsBin(): string {
  return process.env.RELGUARD_TOOLS_BIN ?? path.join(projectRoot, '.relguard', 'tools', 'bin');
}

export function toolPaths() {
  const bin = toolsBin();
  return {
    temporal: path.join(bin, 'temporal'),
    temporalTestServer: path.join(bin, 'temporal-test-server'),
    ferretdb: path.join(bin, 'ferretdb'),
    actionlint: path.join(bin, 'actionlint'),
    schemathesis: path.join(bin, 'st'),
    prometheus: process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus',
  };
}
