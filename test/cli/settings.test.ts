import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/errors';
import { defaultApiUrl, findTokenFile, readToken, resolveSettings } from '../../cli/settings';

let root: string;
let project: string;
let deep: string;
let tokenFile: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'relguard-cli-settings-'));
  project = path.join(root, 'project');
  deep = path.join(project, 'services', 'shop');
  await mkdir(deep, { recursive: true });
  await mkdir(path.join(project, '.relguard'));
  tokenFile = path.join(project, '.relguard', 'token');
  await writeFile(tokenFile, 'rg_admin_from_file\n', { mode: 0o600 });
});

afterAll(async () => {
  await chmod(tokenFile, 0o600).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

describe('settings', () => {
  it('defaults to the local api, without a token outside a project', () => {
    expect(resolveSettings({ flags: {}, env: {}, cwd: root })).toEqual({ apiUrl: defaultApiUrl });
  });

  it('finds .relguard/token from the current folder upward', () => {
    expect(findTokenFile(deep)).toBe(tokenFile);
    expect(findTokenFile(root)).toBeUndefined();
    expect(resolveSettings({ flags: {}, env: {}, cwd: deep })).toEqual({
      apiUrl: defaultApiUrl,
      token: 'rg_admin_from_file',
      tokenSource: tokenFile,
    });
  });

  it('takes the variables over the file, and the flags over both', () => {
    const env = { RELGUARD_API_URL: 'https://relguard.example.com/', RELGUARD_TOKEN: 'rg_env' };
    expect(resolveSettings({ flags: {}, env, cwd: deep })).toEqual({
      apiUrl: 'https://relguard.example.com',
      token: 'rg_env',
      tokenSource: 'RELGUARD_TOKEN',
    });
    expect(
      resolveSettings({ flags: { api: 'http://10.0.0.5:3000', token: 'rg_flag' }, env, cwd: deep }),
    ).toEqual({ apiUrl: 'http://10.0.0.5:3000', token: 'rg_flag', tokenSource: '--token' });
    // An empty variable is no setting at all.
    expect(
      resolveSettings({ flags: {}, env: { RELGUARD_TOKEN: '', RELGUARD_API_URL: ' ' }, cwd: deep }),
    ).toMatchObject({ apiUrl: defaultApiUrl, token: 'rg_admin_from_file' });
  });

  it('reads $RELGUARD_HOME/token before searching upward', async () => {
    const home = path.join(root, 'state');
    await mkdir(home, { recursive: true });
    await writeFile(path.join(home, 'token'), 'rg_home', { mode: 0o600 });
    expect(resolveSettings({ flags: {}, env: { RELGUARD_HOME: home }, cwd: deep })).toMatchObject({
      token: 'rg_home',
    });
    // A home without a token falls back to the search.
    expect(resolveSettings({ flags: {}, env: { RELGUARD_HOME: deep }, cwd: deep })).toMatchObject({
      token: 'rg_admin_from_file',
    });
  });

  it('refuses a bad api URL, naming where it came from, and never shows a token', () => {
    expect(() => resolveSettings({ flags: { api: 'localhost:3000' }, env: {}, cwd: root })).toThrow(
      /--api must be http or https/,
    );
    expect(() =>
      resolveSettings({ flags: {}, env: { RELGUARD_API_URL: 'not a url' }, cwd: root }),
    ).toThrow(/RELGUARD_API_URL is not a URL/);
    expect(() =>
      resolveSettings({ flags: { api: 'http://user:pw@host' }, env: {}, cwd: root }),
    ).toThrow(/must not carry credentials/);
  });

  it('names a token file it cannot read, without reading it out', () => {
    // A folder where the file should be fails to read for every user, root included.
    expect(() => readToken(root)).toThrow(UsageError);
    expect(() => readToken(root)).toThrow(`cannot read the token file ${root} (EISDIR)`);
  });
});
