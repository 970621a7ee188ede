import { existsSync } from 'node:fs';
import { toolPaths } from './tools';

/** Fails the run at once, with the fix, when the binaries the tests start are not installed. */
export default function checkTools(): void {
  const missing = Object.entries(toolPaths()).filter(([, path]) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `missing test tools: ${missing.map(([name, path]) => `${name} (${path})`).join(', ')}; ` +
        'run ./temporal-dev.sh install',
    );
  }
}
