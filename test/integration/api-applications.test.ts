import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { storeOnlyApp } from '../support/releases';

let testStore: TestStore;
let app: TestApi;

beforeAll(async () => {
  testStore = await startTestStore();
  app = await storeOnlyApp(testStore.store);
});
afterAll(async () => {
  await testStore.close();
});

const base = '/api/v1/applications';
const shop = {
  name: 'shop',
  repo: 'file:///repos/shop',
  deploy_path: '/srv/shop',
  start_cmd: 'node main.js',
  machines: [
    { id: 'm1', host: '127.0.0.1', port: 4001 },
    { id: 'm2', host: '127.0.0.1', port: 4002 },
  ],
};

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

async function send(method: string, path: string, body?: unknown, raw?: string) {
  const response = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined || raw !== undefined ? { body: raw ?? JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as unknown };
}

describe('applications API', () => {
  let id: string;

  it('creates an application: 201 with defaults and bookkeeping', async () => {
    const { status, body } = await send('POST', base, shop);
    expect(status).toBe(201);
    expect(body).toMatchObject({
      name: 'shop',
      deployment_platform: 'local',
      machine_count: 2,
      currentVersion: '',
      rollback_policy: { auto_rollback: true },
    });
    id = (body as { id: string }).id;
  });

  it('reads it back by id and in the list', async () => {
    const one = await send('GET', `${base}/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, name: 'shop' });
    const list = await send('GET', base);
    expect(list.status).toBe(200);
    expect((list.body as { items: { id: string }[] }).items.map((item) => item.id)).toContain(id);
  });

  it('updates the fields given and keeps the rest', async () => {
    const { status, body } = await send('PUT', `${base}/${id}`, {
      pacer: { batch_size: 1, interval_seconds: 5 },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      pacer: { batch_size: 1, interval_seconds: 5, gray_bake_seconds: 120 },
      start_cmd: 'node main.js',
    });
  });

  it('refuses a duplicate name with 409', async () => {
    const { status, body } = await send('POST', base, shop);
    expect(status).toBe(409);
    expect((body as ErrorBody).error).toMatchObject({ code: 'conflict' });
    expect((body as ErrorBody).error.message).toContain('"shop"');
  });

  it.each([
    ['POST', () => base, { ...shop, name: 'Bad Name!' }, 'name'],
    [
      'POST',
      () => base,
      { ...shop, name: 'other', machines: [{ id: 'm1', host: 'h' }] },
      'machines.0.port',
    ],
    ['POST', () => base, { ...shop, name: 'other', deploy_path: 'relative' }, 'deploy_path'],
    ['POST', () => base, { name: 'other' }, 'deploy_path'],
    ['PUT', () => `${base}/${id}`, { pacer: { batches: [50, 25] } }, 'pacer.batches.1'],
    ['PUT', () => `${base}/${id}`, { unknown_field: true }, 'unknown_field'],
    // Not Prometheus label names, and refused by the store as field names: a 500 the fuzz found.
    [
      'POST',
      () => base,
      {
        ...shop,
        name: 'other',
        machines: [{ id: 'm1', host: 'h', port: 1, labels: { 'a.b': 'x' } }],
      },
      'machines.0.labels.a.b',
    ],
    [
      'PUT',
      () => `${base}/${id}`,
      { red_metrics_config: { labels: { $env: 'x' } } },
      'red_metrics_config.labels.$env',
    ],
  ])('%s with a bad body is 422 and names %s', async (method, path, body, field) => {
    const response = await send(method, path(), body);
    expect(response.status).toBe(422);
    const error = (response.body as ErrorBody).error;
    expect(error.code).toBe('validation_failed');
    expect(error.details?.map((detail) => detail.field)).toContain(field);
    expect(error.message).toContain(field);
  });

  it('validates an update against the whole application', async () => {
    // ssh needs ssh settings on every machine: only the merged application shows the problem.
    const response = await send('PUT', `${base}/${id}`, { deployment_platform: 'ssh' });
    expect(response.status).toBe(422);
    expect((response.body as ErrorBody).error.details?.map((d) => d.field)).toEqual([
      'machines.0.ssh',
      'machines.1.ssh',
    ]);
  });

  it('answers malformed JSON with 400', async () => {
    const response = await send('POST', base, undefined, '{"name": ');
    expect(response.status).toBe(400);
    expect((response.body as ErrorBody).error.code).toBe('bad_request');
  });

  it('refuses an update without a body with 400, as one with an empty JSON body, changing nothing', async () => {
    const before = await send('GET', `${base}/${id}`);
    // No body and no Content-Type: what schemathesis sent, and the api once took as an empty
    // update (200).
    const bare = await app.request(`${base}/${id}`, { method: 'PUT' });
    expect(bare.status).toBe(400);
    const refusal = (await bare.json()) as ErrorBody;
    expect(refusal.error.code).toBe('bad_request');
    expect(refusal.error.message).toContain('body is required');
    const empty = await send('PUT', `${base}/${id}`, undefined, '');
    expect(empty.status).toBe(400);
    expect(await send('GET', `${base}/${id}`)).toEqual(before);
  });

  it('answers an unknown id with 404 on every verb', async () => {
    const missing = `${base}/${'0'.repeat(24)}`;
    for (const [method, body] of [['GET'], ['PUT', { repo: 'x' }], ['DELETE']] as const) {
      const response = await send(method, missing, body);
      expect(response.status, method).toBe(404);
      expect((response.body as ErrorBody).error.code).toBe('not_found');
    }
  });

  it('refuses to delete an application while a release runs, then deletes it', async () => {
    const deployment = await testStore.store.deployments.create({
      app_name: 'shop',
      app_id: id,
      status: 'deploying',
      package_version: 'v1.0.0',
      gray_machine_id: 'm1',
      platform: 'local',
      node_deployments: [],
      previous_version: '',
    });
    const refused = await send('DELETE', `${base}/${id}`);
    expect(refused.status).toBe(409);
    expect((refused.body as ErrorBody).error.message).toContain(deployment.id);

    await testStore.store.deployments.update(deployment.id, { status: 'succeeded' });
    expect((await send('DELETE', `${base}/${id}`)).status).toBe(204);
    expect((await send('GET', `${base}/${id}`)).status).toBe(404);
  });

  it('refuses a body over the size limit with 413', async () => {
    const huge = { ...shop, name: 'huge', config_path: 'x'.repeat(2 * 1024 * 1024) };
    const response = await send('POST', base, huge);
    expect(response.status).toBe(413);
    expect((response.body as ErrorBody).error.code).toBe('payload_too_large');
  });

  it('answers an unknown route with the error envelope', async () => {
    const response = await send('GET', '/api/v1/nothing-here');
    expect(response.status).toBe(404);
    expect((response.body as ErrorBody).error.code).toBe('not_found');
  });
});

describe('API description', () => {
  it('documents every applications route with its statuses, from the same schemas', async () => {
    const response = await app.request('/openapi.json');
    expect(response.status).toBe(200);
    const spec = (await response.json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(Object.keys(spec.paths['/api/v1/applications'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(spec.paths['/api/v1/applications/{id}'] ?? {}).sort()).toEqual([
      'delete',
      'get',
      'put',
    ]);
    // 401, 403, 413, 429 (a write) and 503 are the middleware's, added to every route they guard
    // (api/docs.ts); 415 is the JSON body's Content-Type check.
    expect(Object.keys(spec.paths['/api/v1/applications']?.post?.responses ?? {}).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '422',
      '429',
      '503',
    ]);
    expect(Object.keys(spec.components.schemas)).toEqual(
      expect.arrayContaining(['Application', 'ApplicationInput', 'ApplicationUpdate', 'Error']),
    );
    expect(Object.keys(spec.components.schemas.Application?.properties ?? {})).toEqual(
      expect.arrayContaining(['currentVersion', 'prev_version', 'rollback_policy', 'createdTime']),
    );
  });

  it('serves the docs page with its assets from this server, not a CDN', async () => {
    const page = await (await app.request('/docs')).text();
    expect(page).toContain('/openapi.json');
    expect(page).not.toMatch(/https?:\/\//);
    const assets = [...page.matchAll(/(?:href|src)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const response = await app.request(asset);
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
    expect((await app.request('/docs/assets/swagger-ui-dist/package.json')).status).toBe(404);
  });
});
