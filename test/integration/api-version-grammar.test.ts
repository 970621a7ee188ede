import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationInput, type Application } from '../../domain';
import { versionPattern } from '../../domain/version';
import type { TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { storeOnlyApp } from '../support/releases';

/**
 * The version grammar at each REST entry, over real storage: a bad version is refused with
 * the field named, before anything starts. The api here has no Temporal behind it (any start
 * would be a 500 saying so), and no package, build or release is recorded.
 */
let testStore: TestStore;
let api: TestApi;
let app: Application;

const badVersions = ['\u0094\u0000', '\b\u001d', 'v1..2', 'release/1.0', '-rf', 'x'.repeat(129)];

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

async function call(method: string, url: string, body?: unknown, contentType?: string) {
  const response = await api.request(url, {
    method,
    headers: { 'content-type': contentType ?? 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  testStore = await startTestStore();
  api = await storeOnlyApp(testStore.store);
  app = await testStore.store.applications.create(
    ApplicationInput.parse({
      name: 'grammar',
      deploy_path: '/srv/grammar',
      start_cmd: 'node main.js',
      repo: 'https://github.com/acme/grammar.git',
      machines: [{ id: 'g1', host: '127.0.0.1', port: 9 }],
    }),
  );
}, 120_000);

afterAll(async () => {
  await testStore?.close();
});

describe('a bad version is refused at every REST entry, naming the field, starting nothing', () => {
  it('POST /api/v1/packages', async () => {
    for (const version of badVersions) {
      const { status, text } = await call('POST', '/api/v1/packages', { app_id: app.id, version });
      expect(status, `${JSON.stringify(version)}: ${text}`).toBe(422);
      expect(text).toContain('version');
      expect((JSON.parse(text) as ErrorBody).error.message).toContain('a version (a git tag name)');
    }
  });

  it('POST /api/v1/deployments', async () => {
    for (const version of badVersions) {
      const { status, text } = await call('POST', '/api/v1/deployments', {
        app_id: app.id,
        package_version: version,
      });
      expect(status, `${JSON.stringify(version)}: ${text}`).toBe(422);
      expect(text).toContain('package_version');
    }
    // The application's release slot was never claimed.
    expect(await testStore.store.deployments.list({ app_id: app.id })).toEqual([]);
  });

  it('PUT /api/v1/applications/{id}/packages/{version}', async () => {
    for (const version of ['v1..2', '-rf', 'v1%20beta', 'v1%00', 'a%5Cb']) {
      const { status, text } = await call(
        'PUT',
        `/api/v1/applications/${app.id}/packages/${version}`,
        'not a package',
        'application/gzip',
      );
      expect([400, 422], `${version}: ${status} ${text}`).toContain(status);
      expect(text).toContain('version');
    }
    expect(await testStore.store.packages.listByApp(app.id)).toEqual([]);
  });

  it('POST /api/v1/tokens refuses a name with control characters, or a blank one', async () => {
    for (const name of ['ci\u0000bot', 'ci\u001b[31m', 'ci\u0085', '   ']) {
      const { status, text } = await call('POST', '/api/v1/tokens', { name, role: 'viewer' });
      expect(status, `${JSON.stringify(name)}: ${text}`).toBe(422);
      expect(text).toContain('name');
    }
    const good = await call('POST', '/api/v1/tokens', { name: 'ci for alice', role: 'viewer' });
    expect(good.status, good.text).toBe(201);
  });

  it('states the grammar in the OpenAPI document of each of them', async () => {
    const { text } = await call('GET', '/openapi.json');
    const document = JSON.parse(text) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // The request bodies may be components the operations refer to: the whole document.
    const serialized = JSON.stringify(document);
    const patterns = serialized.split(JSON.stringify(versionPattern).slice(1, -1)).length - 1;
    expect(patterns).toBeGreaterThanOrEqual(3);
  });
});
