import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The local stack as temporal-dev.sh runs it, for the demo's commands: its folder
 * (RELGUARD_HOME), the api and the Temporal UI on their ports, and the admin token `up` wrote.
 */
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export const stackHome = process.env.RELGUARD_HOME ?? path.join(projectRoot, '.relguard');
export const stackTokenFile = path.join(stackHome, 'token');
export const stackApiUrl = `http://127.0.0.1:${process.env.API_PORT ?? '3000'}`;
export const stackTemporalUiUrl = `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT ?? '8233'}`;

/** The admin token of the stack, or undefined when `up` has not written one. */
export async function readStackToken(): Promise<string | undefined> {
  return await readFile(stackTokenFile, 'utf8').then(
    (text) => text.trim() || undefined,
    () => undefined,
  );
}
