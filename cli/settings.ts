import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors';

export const defaultApiUrl = 'http://127.0.0.1:3000';
/** Where `temporal-dev.sh up` writes a local admin token, relative to the state folder. */
const tokenFileName = 'token';
const stateFolder = '.relguard';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Settings {
  apiUrl: string;
  token?: string;
  /** Where the token came from, for messages: `--token`, `RELGUARD_TOKEN` or a file's path. */
  tokenSource?: string;
}

/**
 * The api and the token, each from the first of: its flag, its variable, then (the token
 * only) `$RELGUARD_HOME/token` and `.relguard/token` in the current folder or any above it.
 * This is the only place the CLI reads its environment.
 */
export function resolveSettings(options: {
  flags: { api?: string; token?: string };
  env: Env;
  cwd: string;
}): Settings {
  const { flags, env, cwd } = options;
  const apiUrl = checkApiUrl(
    flags.api ?? nonEmpty(env.RELGUARD_API_URL) ?? defaultApiUrl,
    flags.api !== undefined ? '--api' : nonEmpty(env.RELGUARD_API_URL) ? 'RELGUARD_API_URL' : '',
  );
  if (flags.token !== undefined) {
    if (flags.token.trim() === '') throw new UsageError('--token is empty');
    return { apiUrl, token: flags.token.trim(), tokenSource: '--token' };
  }
  const fromEnv = nonEmpty(env.RELGUARD_TOKEN);
  if (fromEnv !== undefined)
    return { apiUrl, token: fromEnv.trim(), tokenSource: 'RELGUARD_TOKEN' };
  const home = nonEmpty(env.RELGUARD_HOME);
  const homeFile = home === undefined ? undefined : path.resolve(cwd, home, tokenFileName);
  const file = homeFile !== undefined && isFile(homeFile) ? homeFile : findTokenFile(cwd);
  if (file === undefined) return { apiUrl };
  const token = readToken(file);
  return token === undefined ? { apiUrl } : { apiUrl, token, tokenSource: file };
}

/** `.relguard/token` in `start` or the nearest folder above it that has one. */
export function findTokenFile(start: string): string | undefined {
  for (let folder = path.resolve(start); ; folder = path.dirname(folder)) {
    const candidate = path.join(folder, stateFolder, tokenFileName);
    if (isFile(candidate)) return candidate;
    if (path.dirname(folder) === folder) return undefined;
  }
}

export function readToken(file: string): string | undefined {
  try {
    const token = readFileSync(file, 'utf8').trim();
    return token === '' ? undefined : token;
  } catch (error) {
    // Say which file, never what is in it.
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`cannot read the token file ${file} (${code})`);
  }
}

function checkApiUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source || 'the api URL'} is not a URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source || 'the api URL'} must be http or https: ${value}`);
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in a URL end up in messages; the token has its own setting.
    throw new UsageError(`${source || 'the api URL'} must not carry credentials; use --token`);
  }
  return url.href.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
