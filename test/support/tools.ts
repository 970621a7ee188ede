import { existsSync } from 'node:fs';
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
    /** Debian's chromium (temporal-dev.sh installs it), which the browser tests drive. */
    chromium: process.env.CHROMIUM_BIN ?? onPath('chromium') ?? '/usr/bin/chromium',
  };
}

/** Where `command -v <name>` would find a program, or undefined. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
