import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../domain';
import type { TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { storeOnlyApp } from '../support/releases';

/**
 * Issue 14, part 4: RED templates the guard would misread are refused when the application is
 * saved, through the real api and a real FerretDB store, on create and on update (where the
 * application as it will be stored is what is checked).
 */
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
const selector = 'app="{{app}}",version="{{version}}"';
const requests = `sum(rate(http_requests_total{${selector}}[1m]))`;
const failures = `sum(rate(http_requests_total{${selector},status=~"5.."}[1m]))`;
const ratio = `${failures} / ${requests}`;

const application = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  deploy_path: `/srv/${name}`,
  start_cmd: 'node main.js',
  machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
  ...extra,
});

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

async function send(method: string, path: string, body: unknown) {
  const response = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer: unknown = await response.json();
  return { status: response.status, body: answer };
}

function refusedFields(body: unknown): string[] {
  const error = (body as ErrorBody).error;
  expect(error.code).toBe('validation_failed');
  return error.details?.map((detail) => detail.field) ?? [];
}

describe('RED templates on create', () => {
  it('refuses a ratio written as errors with 422 naming red_metrics_config.errors', async () => {
    const { status, body } = await send(
      'POST',
      base,
      application('ratio-errors', { red_metrics_config: { errors: ratio } }),
    );
    expect(status).toBe(422);
    expect(refusedFields(body)).toEqual(['red_metrics_config.errors']);
    const message = (body as ErrorBody).error.message;
    expect(message).toContain('red_metrics_config.errors');
    expect(message).toMatch(/looks like a ratio/);
    expect(message).toContain('error_ratio');
    expect(await testStore.store.applications.findByName('ratio-errors')).toBeUndefined();
  });

  it('accepts the same ratio written as error_ratio: 201, stored as written', async () => {
    const { status, body } = await send(
      'POST',
      base,
      application('ratio-as-ratio', { red_metrics_config: { error_ratio: ratio } }),
    );
    expect(status).toBe(201);
    expect((body as Application).red_metrics_config).toMatchObject({
      error_ratio: ratio,
      errors: failures,
    });
  });

  it('refuses a template without {{version}} with 422 naming it', async () => {
    const { status, body } = await send(
      'POST',
      base,
      application('no-version', {
        red_metrics_config: { rate: 'sum(rate(http_requests_total{app="{{app}}"}[1m]))' },
      }),
    );
    expect(status).toBe(422);
    expect(refusedFields(body)).toEqual(['red_metrics_config.rate']);
    expect((body as ErrorBody).error.message).toMatch(/\{\{version\}\}/);
  });

  it('refuses a custom rule that does not parse, named by its index', async () => {
    const rules = [
      { name: 'errors', metric: 'error_rate', threshold: 0.05 },
      { name: 'queue', metric: 'custom', promql: `sum(queue_depth{${selector}}`, threshold: 100 },
    ];
    const { status, body } = await send(
      'POST',
      base,
      application('bad-rule', { rollback_policy: { rules } }),
    );
    expect(status).toBe(422);
    expect(refusedFields(body)).toEqual(['rollback_policy.rules.1.promql']);
    expect((body as ErrorBody).error.message).toMatch(/does not parse as PromQL/);
  });
});

describe('RED templates on update', () => {
  let id: string;
  const versioned = `sum(queue_depth{${selector}})`;

  beforeAll(async () => {
    const { status, body } = await send('POST', base, application('shop-templates'));
    expect(status).toBe(201);
    id = (body as Application).id;
  });

  it('refuses a ratio as errors, and leaves the stored templates as they were', async () => {
    const { status, body } = await send('PUT', `${base}/${id}`, {
      red_metrics_config: { errors: ratio },
    });
    expect(status).toBe(422);
    expect(refusedFields(body)).toEqual(['red_metrics_config.errors']);
    const stored = await testStore.store.applications.get(id);
    expect(stored.red_metrics_config.errors).not.toContain('/');
  });

  it('checks a change of the rules alone against the stored templates', async () => {
    const rules = [{ name: 'queue', metric: 'custom', promql: 'sum(queue_depth)', threshold: 1 }];
    const refused = await send('PUT', `${base}/${id}`, { rollback_policy: { rules } });
    expect(refused.status).toBe(422);
    expect(refusedFields(refused.body)).toEqual(['rollback_policy.rules.0.promql']);

    const accepted = await send('PUT', `${base}/${id}`, {
      rollback_policy: { rules: [{ ...rules[0], promql: versioned }] },
    });
    expect(accepted.status).toBe(200);
    expect((accepted.body as Application).rollback_policy.rules[0]?.promql).toBe(versioned);
  });

  it('accepts error_ratio and keeps the rest of the application as it was', async () => {
    const { status, body } = await send('PUT', `${base}/${id}`, {
      red_metrics_config: { errors: failures, error_ratio: ratio },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id,
      name: 'shop-templates',
      red_metrics_config: { errors: failures, error_ratio: ratio },
      rollback_policy: { rules: [{ promql: versioned }] },
    });
  });

  it('checks a change of anything else against the stored templates too', async () => {
    // A template stored before templates were checked: any save must fix it.
    const stored = await testStore.store.applications.get(id);
    await testStore.store.applications.updateFrom(stored, {
      red_metrics_config: { ...stored.red_metrics_config, duration: 'histogram_quantile(0.99,' },
    });
    const { status, body } = await send('PUT', `${base}/${id}`, { start_cmd: 'node server.js' });
    expect(status).toBe(422);
    expect(refusedFields(body)).toEqual(['red_metrics_config.duration']);
  });
});
