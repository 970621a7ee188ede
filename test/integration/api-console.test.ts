import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { createApp, type RelguardApp } from '../../api/app';
import { buildConsole } from '../../web/build';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';

/**
 * The console as the api serves it: built once by web/build.ts (vite, the npm script's
 * config) into a folder of the test's own, without a token, as a browser asks for it.
 */
let testStore: TestStore;
let consoleDir: string;
let emptyDir: string;
let app: RelguardApp;

const appWith = (dir: string | undefined) =>
  createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
    ...(dir === undefined ? {} : { consoleDir: dir }),
  });

beforeAll(async () => {
  [testStore, consoleDir, emptyDir] = await Promise.all([
    startTestStore(),
    mkdtemp(path.join(os.tmpdir(), 'relguard-console-')),
    mkdtemp(path.join(os.tmpdir(), 'relguard-console-empty-')),
  ]);
  await buildConsole(consoleDir);
  app = appWith(consoleDir);
}, 120_000);

afterAll(async () => {
  await testStore?.close();
  for (const dir of [consoleDir, emptyDir]) {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
});

async function assetNamed(extension: string): Promise<string> {
  const names = await readdir(path.join(consoleDir, 'assets'));
  const name = names.find((file) => file.endsWith(extension));
  if (name === undefined) throw new Error(`the build has no ${extension} asset: ${names.join()}`);
  return name;
}

describe('the console', () => {
  it('is where / leads', async () => {
    const root = await app.request('/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const bare = await app.request('/console');
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
  });

  it('serves index.html at /console/, without a token and never cached stale', async () => {
    const response = await app.request('/console/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await response.text();
    expect(html).toContain('<div id="app"></div>');
    // Everything it loads is its own, under /console/assets/: no CDN.
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(sources.length).toBeGreaterThanOrEqual(2);
    for (const source of sources) expect(source).toMatch(/^(\/console\/assets\/|data:)/);
    expect(html).toContain(`/console/assets/${await assetNamed('.js')}`);
  });

  it("answers the console's own paths with index.html, for the browser to route", async () => {
    const index = await (await app.request('/console/')).text();
    for (const page of ['/console/apps/x', '/console/releases/abc123', '/console/nowhere/deep']) {
      const response = await app.request(page);
      expect(response.status, page).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await response.text()).toBe(index);
    }
  });

  it('serves the hashed assets with their content types, cached for good', async () => {
    const script = await app.request(`/console/assets/${await assetNamed('.js')}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await script.text()).length).toBeGreaterThan(10_000);

    const style = await app.request(`/console/assets/${await assetNamed('.css')}`);
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await style.text()).toContain('.uplot');
  });

  it('is a 404, not the page, for an asset that does not exist or a path out of the folder', async () => {
    const missing = await app.request('/console/assets/nope-123.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    for (const escape of ['/console/..%2f..%2fpackage.json', '/console/%2e%2e/%2e%2e/etc/passwd']) {
      const response = await app.request(escape);
      expect(response.status, escape).toBe(404);
      expect(await response.text()).not.toContain('root:');
    }
  });

  it('answers 503 and says how to build it when there is no build', async () => {
    for (const unbuilt of [appWith(emptyDir), appWith(undefined)]) {
      for (const page of ['/console/', '/console/apps/x']) {
        const response = await unbuilt.request(page);
        expect(response.status, page).toBe(503);
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error).toEqual({
          code: 'console_not_built',
          message: 'the console is not built: run npm run build:console',
        });
      }
    }
  });
});
