import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { issueDetails } from './errors';

export const defaultConfigFile = 'mockserver.config.json';

/**
 * The config file a release ships with. `faults` start at boot, so a version can carry a
 * built-in bug: {"faults":[{"type":"error","params":{"rate":0.3,"routes":["/api/pay"]}}]}.
 * Each entry is validated like a POST /faults body when the server starts.
 */
const configSchema = z.strictObject({
  $schema: z.string().optional(),
  faults: z.array(z.unknown()).default([]),
});
export type MockServerConfig = z.output<typeof configSchema>;

/**
 * Reads `explicitPath`, or `mockserver.config.json` in `cwd` when it exists; throws with the
 * file and field named when the file is missing (explicit only) or invalid.
 */
export function loadConfig(explicitPath: string | undefined, cwd: string): MockServerConfig {
  const filePath = path.resolve(cwd, explicitPath ?? defaultConfigFile);
  if (explicitPath === undefined && !existsSync(filePath)) return { faults: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(filePath, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`config ${filePath}: ${reason}`, { cause: error });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = issueDetails(parsed.error, '')
      .map((issue) => `${issue.parameter}: ${issue.message}`)
      .join('; ');
    throw new Error(`config ${filePath}: ${problems}`);
  }
  return parsed.data;
}
