import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { storeOnlyApp } from '../support/releases';

/**
 * The OpenAPI document states every rule the api enforces on a request body (issue 21): for
 * each rule, the served /openapi.json says it at the right place (a pattern, a bound, a oneOf,
 * or, where JSON Schema cannot, a description naming the field), the api refuses a body that
 * breaks it with a 422 naming that field, and accepts the body at the rule's boundary. Then a
 * table of bodies that the document's own schema accepts (checked with a JSON Schema 2020-12
 * validator, Ajv, as a generated client would) and that keep the described rules: the api
 * accepts every one. Real storage (FerretDB) behind the api, as in production.
 */
let testStore: TestStore;
let api: TestApi;
let spec: OpenApiDocument;
let storedId: string;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: { name: string; schema: Json }[] }>>;
  components: { schemas: Record<string, Json> };
}
interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();

/** The document's schema `name` as a validator, its $refs pointing into the same document. */
function documented(name: string): ValidateFunction {
  const known = validators.get(name);
  if (known !== undefined) return known;
  const defs = JSON.parse(
    JSON.stringify(spec.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'),
  ) as Record<string, Json>;
  const validate = ajv.compile({ $defs: defs, $ref: `#/$defs/${name}` });
  validators.set(name, validate);
  return validate;
}

/** The value at a JSON pointer (`/properties/pacer/oneOf`) under the document's schema `name`. */
function at(name: string, pointer: string): Json | undefined {
  let node: Json | undefined = spec.components.schemas[name];
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(part)] : node[part];
  }
  return node;
}

async function send(method: string, path: string, body: unknown) {
  const response = await api.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as unknown, text };
}

const fieldsOf = (body: unknown) =>
  ((body as ErrorBody).error.details ?? []).map((detail) => detail.field);

let serial = 0;
/** An application body with a name of its own, so that accepted bodies never collide (409). */
function application(changes: Record<string, unknown> = {}) {
  serial += 1;
  return {
    name: `rules-${serial}`,
    deploy_path: '/srv/rules',
    start_cmd: 'node main.js',
    machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
    ...changes,
  };
}

const machine = (id: string, port: number, extra: Record<string, unknown> = {}) => ({
  id,
  host: '127.0.0.1',
  port,
  ...extra,
});
const ssh = { user: 'deploy', key_path: '/keys/id_ed25519' };
const customPromql = 'sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[1m]))';
const templatesWith = (window: string) => ({
  rate: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[${window}]))`,
  errors: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[${window}]))`,
  duration: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[${window}])))`,
});

interface Rule {
  rule: string;
  /** The component schema of the body. */
  schema: 'ApplicationInput' | 'ApplicationUpdate' | 'NewApiToken';
  /** Where the document says it, under that schema, and what it says there. */
  pointer: string;
  says: unknown;
  /** True when JSON Schema itself refuses the bad body; false for a rule said in words. */
  expressible: boolean;
  method: 'POST' | 'PUT';
  path: () => string;
  bad: () => unknown;
  /** The field the 422 names. */
  field: string;
  /** Bodies at the rule's boundary, accepted. */
  good: (() => unknown)[];
}

/** A description (or pattern) that says `text`. */
const mentions = (text: string): unknown => expect.stringContaining(text) as unknown;
const postApp = { method: 'POST' as const, path: () => '/api/v1/applications' };
const putApp = { method: 'PUT' as const, path: () => `/api/v1/applications/${storedId}` };
const postToken = { method: 'POST' as const, path: () => '/api/v1/tokens' };

const rules: Rule[] = [
  {
    rule: 'deploy_path is absolute',
    schema: 'ApplicationInput',
    pointer: '/properties/deploy_path/pattern',
    says: '^/',
    expressible: true,
    ...postApp,
    bad: () => application({ deploy_path: 'srv/shop' }),
    field: 'deploy_path',
    good: [() => application({ deploy_path: '/' })],
  },
  {
    rule: 'deploy_path is absolute in an update',
    schema: 'ApplicationUpdate',
    pointer: '/properties/deploy_path/pattern',
    says: '^/',
    expressible: true,
    ...putApp,
    bad: () => ({ deploy_path: '' }),
    field: 'deploy_path',
    good: [() => ({ deploy_path: '/opt/rules' })],
  },
  {
    rule: 'health_check.path starts with /',
    schema: 'ApplicationInput',
    pointer: '/properties/health_check/properties/path/pattern',
    says: '^/',
    expressible: true,
    ...postApp,
    bad: () => application({ health_check: { path: 'healthz' } }),
    field: 'health_check.path',
    good: [() => application({ health_check: { path: '/' } })],
  },
  {
    rule: 'a pacer takes batch_size or batches, not both',
    schema: 'ApplicationInput',
    pointer: '/properties/pacer/oneOf',
    says: [
      { properties: { batches: false } },
      { required: ['batches'], properties: { batch_size: false } },
    ],
    expressible: true,
    ...postApp,
    bad: () => application({ pacer: { batch_size: 1, batches: [100] } }),
    field: 'pacer.batches',
    good: [
      () => application({ pacer: { batch_size: 1 } }),
      () => application({ pacer: { batches: [100] } }),
      () => application({ pacer: { interval_seconds: 0 } }),
    ],
  },
  {
    rule: 'batches end at 100',
    schema: 'ApplicationInput',
    pointer: '/properties/pacer/properties/batches/contains',
    says: { const: 100 },
    expressible: true,
    ...postApp,
    bad: () => application({ pacer: { batches: [25, 99.5] } }),
    field: 'pacer.batches.1',
    good: [() => application({ pacer: { batches: [0.5, 100] } })],
  },
  {
    rule: 'batches increase',
    schema: 'ApplicationInput',
    pointer: '/properties/pacer/properties/batches/description',
    says: mentions(
      'strictly increasing (a value not above the one before is 422 naming `pacer.batches.N`)',
    ),
    expressible: false,
    ...postApp,
    bad: () => application({ pacer: { batches: [50, 50, 100] } }),
    field: 'pacer.batches.1',
    good: [() => application({ pacer: { batches: [50, 50.5, 100] } })],
  },
  {
    rule: 'a custom rule needs promql',
    schema: 'ApplicationInput',
    pointer: '/properties/rollback_policy/properties/rules/items/oneOf/0',
    says: { properties: { metric: { const: 'custom' } }, required: ['metric', 'promql'] },
    expressible: true,
    ...postApp,
    bad: () =>
      application({
        rollback_policy: { rules: [{ name: 'queue', metric: 'custom', threshold: 1 }] },
      }),
    field: 'rollback_policy.rules.0.promql',
    good: [
      () =>
        application({
          rollback_policy: {
            rules: [{ name: 'queue', metric: 'custom', promql: customPromql, threshold: 1 }],
          },
        }),
    ],
  },
  {
    rule: "a custom rule's promql is PromQL that uses {{version}}",
    schema: 'ApplicationInput',
    pointer: '/properties/rollback_policy/properties/rules/items/properties/promql/description',
    says: mentions('use `{{version}}`'),
    expressible: false,
    ...postApp,
    bad: () =>
      application({
        rollback_policy: {
          rules: [{ name: 'q', metric: 'custom', promql: 'sum(queue_depth)', threshold: 1 }],
        },
      }),
    field: 'rollback_policy.rules.0.promql',
    good: [
      () =>
        application({
          rollback_policy: {
            rules: [
              {
                name: 'q',
                metric: 'custom',
                promql: 'sum(queue_depth{version="{{version}}"})',
                threshold: 1,
              },
            ],
          },
        }),
    ],
  },
  {
    rule: 'machine label keys are label names, never empty',
    schema: 'ApplicationInput',
    pointer: '/properties/machines/items/properties/labels/propertyNames/pattern',
    says: mentions('[a-zA-Z_][a-zA-Z0-9_]*$'),
    expressible: true,
    ...postApp,
    bad: () => application({ machines: [machine('m1', 4001, { labels: { '': 'x' } })] }),
    field: 'machines.0.labels.',
    good: [() => application({ machines: [machine('m1', 4001, { labels: { _: 'x' } })] })],
  },
  {
    rule: 'machine label keys are not what relguard sets',
    schema: 'ApplicationInput',
    pointer: '/properties/machines/items/properties/labels/propertyNames/pattern',
    says: mentions('(?!(?:app|version|instance|job)$)(?!__)'),
    expressible: true,
    ...postApp,
    bad: () => application({ machines: [machine('m1', 4001, { labels: { job: 'x' } })] }),
    field: 'machines.0.labels.job',
    good: [() => application({ machines: [machine('m1', 4001, { labels: { jobs: 'x' } })] })],
  },
  {
    rule: 'RED label keys are label names, never empty',
    schema: 'ApplicationInput',
    pointer: '/properties/red_metrics_config/properties/labels/propertyNames/pattern',
    says: '^[a-zA-Z_][a-zA-Z0-9_]*$',
    expressible: true,
    ...postApp,
    bad: () => application({ red_metrics_config: { labels: { '': 'x' } } }),
    field: 'red_metrics_config.labels.',
    good: [() => application({ red_metrics_config: { labels: { env: 'prod' } } })],
  },
  {
    rule: 'the ssh platform needs ssh settings on every machine',
    schema: 'ApplicationInput',
    pointer: '',
    says: {
      if: {
        properties: { deployment_platform: { const: 'ssh' } },
        required: ['deployment_platform'],
      },
      then: { properties: { machines: { items: { required: ['ssh'] } } } },
    },
    expressible: true,
    ...postApp,
    bad: () =>
      application({
        deployment_platform: 'ssh',
        machines: [machine('m1', 4001, { ssh }), machine('m2', 4002)],
      }),
    field: 'machines.1.ssh',
    good: [
      () =>
        application({
          deployment_platform: 'ssh',
          machines: [machine('m1', 4001, { ssh }), machine('m2', 4002, { ssh })],
        }),
      () => application({ deployment_platform: 'local', machines: [machine('m1', 4001)] }),
    ],
  },
  {
    rule: 'the ssh platform, set by an update, needs ssh settings on the stored machines',
    schema: 'ApplicationUpdate',
    pointer: '/description',
    says: mentions(
      '`deployment_platform: ssh` needs `ssh` settings on every machine, stored or sent',
    ),
    expressible: false,
    ...putApp,
    bad: () => ({ deployment_platform: 'ssh' }),
    field: 'machines.0.ssh',
    good: [() => ({ deployment_platform: 'local' })],
  },
  {
    rule: 'integers above 2^53 are refused',
    schema: 'ApplicationInput',
    pointer: '/properties/pacer/properties/gray_bake_seconds/maximum',
    says: Number.MAX_SAFE_INTEGER,
    expressible: true,
    ...postApp,
    bad: () => application({ pacer: { gray_bake_seconds: 2 ** 53 } }),
    field: 'pacer.gray_bake_seconds',
    good: [() => application({ pacer: { gray_bake_seconds: Number.MAX_SAFE_INTEGER } })],
  },
  {
    rule: 'integers above 2^53 are refused, written as an exponent',
    schema: 'ApplicationInput',
    pointer: '/properties/machines/items/properties/status_since/maximum',
    says: Number.MAX_SAFE_INTEGER,
    expressible: true,
    ...postApp,
    bad: () =>
      JSON.stringify(application({ machines: [machine('m1', 4001)] })).replace(
        '"port":4001',
        '"port":4001,"status_since":1e300',
      ),
    field: 'machines.0.status_since',
    good: [() => application({ machines: [machine('m1', 4001, { status_since: 0 })] })],
  },
  {
    rule: 'application names are slugs of at most 63 characters',
    schema: 'ApplicationInput',
    pointer: '/properties/name',
    says: { pattern: '^[a-z0-9][a-z0-9-]{0,62}$', minLength: 1, maxLength: 63 },
    expressible: true,
    ...postApp,
    bad: () => application({ name: `a${'-'.repeat(63)}` }),
    field: 'name',
    good: [() => application({ name: `z${'9'.repeat(62)}` })],
  },
  {
    rule: 'machine ids are slugs',
    schema: 'ApplicationInput',
    pointer: '/properties/machines/items/properties/id',
    says: { pattern: '^[a-z0-9][a-z0-9-]{0,62}$', maxLength: 63 },
    expressible: true,
    ...postApp,
    bad: () => application({ machines: [machine('M1', 4001)] }),
    field: 'machines.0.id',
    good: [() => application({ machines: [machine(`m${'-'.repeat(62)}`, 4001)] })],
  },
  {
    rule: 'machine ids are unique',
    schema: 'ApplicationInput',
    pointer: '/properties/machines/items/properties/id/description',
    says: mentions('a repeated id is 422 naming `machines.N.id`'),
    expressible: false,
    ...postApp,
    bad: () => application({ machines: [machine('m1', 4001), machine('m1', 4002)] }),
    field: 'machines.1.id',
    good: [() => application({ machines: [machine('m1', 4001), machine('m2', 4002)] })],
  },
  {
    rule: 'machine addresses are unique',
    schema: 'ApplicationInput',
    pointer: '/properties/machines/items/properties/port/description',
    says: mentions('the second is 422 naming `machines.N.port`'),
    expressible: false,
    ...postApp,
    bad: () => application({ machines: [machine('m1', 4001), machine('m2', 4001)] }),
    field: 'machines.1.port',
    good: [
      () =>
        application({
          machines: [machine('m1', 4001), { id: 'm2', host: '127.0.0.2', port: 4001 }],
        }),
    ],
  },
  {
    rule: 'rollback_policy.notify names channels that exist',
    schema: 'ApplicationInput',
    pointer: '/properties/rollback_policy/properties/notify',
    says: {
      items: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
      description: mentions('a name no channel has is 422 naming `rollback_policy.notify.N`'),
    },
    expressible: false,
    ...postApp,
    bad: () => application({ rollback_policy: { notify: ['oncall', 'nobody'] } }),
    field: 'rollback_policy.notify.1',
    good: [() => application({ rollback_policy: { notify: ['oncall'] } })],
  },
  {
    rule: 'verify_seconds lets consecutive breaches roll back',
    schema: 'ApplicationInput',
    pointer: '/properties/rollback_policy/properties/verify_seconds/description',
    says: mentions('at least interval_seconds x consecutive_breaches'),
    expressible: false,
    ...postApp,
    bad: () =>
      application({
        rollback_policy: { interval_seconds: 15, consecutive_breaches: 3, verify_seconds: 44 },
      }),
    field: 'rollback_policy.verify_seconds',
    good: [
      () =>
        application({
          rollback_policy: { interval_seconds: 15, consecutive_breaches: 3, verify_seconds: 45 },
        }),
      () => application({ rollback_policy: { enabled: false, verify_seconds: 0 } }),
    ],
  },
  {
    rule: 'min_judged_evaluations is at least consecutive_breaches',
    schema: 'ApplicationInput',
    pointer: '/properties/rollback_policy/properties/min_judged_evaluations/description',
    says: mentions('at least consecutive_breaches'),
    expressible: false,
    ...postApp,
    bad: () =>
      application({ rollback_policy: { consecutive_breaches: 3, min_judged_evaluations: 2 } }),
    field: 'rollback_policy.min_judged_evaluations',
    good: [
      () =>
        application({ rollback_policy: { consecutive_breaches: 3, min_judged_evaluations: 3 } }),
    ],
  },
  {
    rule: 'RED templates parse as PromQL',
    schema: 'ApplicationInput',
    pointer: '/properties/red_metrics_config/properties/rate/description',
    says: mentions('It must parse as PromQL'),
    expressible: false,
    ...postApp,
    bad: () => application({ red_metrics_config: { rate: 'sum(rate(http_requests_total[1m]' } }),
    field: 'red_metrics_config.rate',
    good: [() => application({ red_metrics_config: templatesWith('1m') })],
  },
  {
    rule: 'the longest rate window holds two scrapes',
    schema: 'ApplicationInput',
    pointer: '/properties/red_metrics_config/description',
    says: mentions('PROMETHEUS_SCRAPE_INTERVAL_SECONDS'),
    expressible: false,
    ...postApp,
    bad: () => application({ red_metrics_config: templatesWith('29s') }),
    field: 'red_metrics_config',
    good: [() => application({ red_metrics_config: templatesWith('30s') })],
  },
  {
    rule: 'the redaction mask stands for a stored value',
    schema: 'ApplicationInput',
    pointer: '/properties/start_cmd/description',
    says: mentions('the redaction mask `***`'),
    expressible: false,
    ...postApp,
    bad: () => application({ start_cmd: '***' }),
    field: 'start_cmd',
    good: [() => application({ start_cmd: '**' })],
  },
  {
    rule: 'token names have no control character',
    schema: 'NewApiToken',
    pointer: '/properties/name',
    says: { pattern: mentions('[^\\u0000-\\u001f\\u007f-\\u009f]+$'), maxLength: 100 },
    expressible: true,
    ...postToken,
    bad: () => ({ name: 'ci\u0000', role: 'viewer' }),
    field: 'name',
    good: [() => ({ name: `c${'i'.repeat(99)}`, role: 'viewer' })],
  },
  {
    rule: 'token names are not blank',
    schema: 'NewApiToken',
    pointer: '/properties/name/pattern',
    says: mentions('^(?!['),
    expressible: true,
    ...postToken,
    bad: () => ({ name: ' \u3000 ', role: 'viewer' }),
    field: 'name',
    good: [() => ({ name: ' ci ', role: 'viewer' })],
  },
  {
    rule: 'a token lives 1 minute to 10 years',
    schema: 'NewApiToken',
    pointer: '/properties/expires_in/anyOf/0',
    says: { minimum: 60, maximum: 315_360_000 },
    expressible: true,
    ...postToken,
    bad: () => ({ name: 'short', role: 'viewer', expires_in: 59 }),
    field: 'expires_in',
    good: [
      () => ({ name: 'short', role: 'viewer', expires_in: 60 }),
      () => ({ name: 'long', role: 'viewer', expires_in: 315_360_000 }),
    ],
  },
  {
    rule: 'a token lifetime in words is a duration',
    schema: 'NewApiToken',
    pointer: '/properties/expires_in/anyOf/1/pattern',
    says: mentions('(?:ms|s|m|h|d|w|y)'),
    expressible: true,
    ...postToken,
    bad: () => ({ name: 'worded', role: 'viewer', expires_in: '90 days' }),
    field: 'expires_in',
    good: [() => ({ name: 'worded', role: 'viewer', expires_in: '10y' })],
  },
  {
    rule: 'a token lifetime in words is 1 minute to 10 years',
    schema: 'NewApiToken',
    pointer: '/properties/expires_in/anyOf/1/description',
    says: mentions('from 1m to 10y'),
    expressible: false,
    ...postToken,
    bad: () => ({ name: 'worded', role: 'viewer', expires_in: '59s' }),
    field: 'expires_in',
    good: [() => ({ name: 'worded', role: 'viewer', expires_in: '1m' })],
  },
  {
    rule: 'expires_in or expires_at, not both',
    schema: 'NewApiToken',
    pointer: '/oneOf/1',
    says: { required: ['expires_at'], properties: { expires_in: false } },
    expressible: true,
    ...postToken,
    bad: () => ({ name: 'both', role: 'viewer', expires_in: '1d', expires_at: 4_102_444_800_000 }),
    field: 'expires_at',
    good: [() => ({ name: 'at', role: 'viewer', expires_at: 4_102_444_800_000 })],
  },
  {
    rule: 'expires_at is in the future',
    schema: 'NewApiToken',
    pointer: '/properties/expires_at/description',
    says: mentions('a time already past is 422 naming `expires_at`'),
    expressible: false,
    ...postToken,
    bad: () => ({ name: 'past', role: 'viewer', expires_at: 1_000 }),
    field: 'expires_at',
    good: [() => ({ name: 'future', role: 'viewer', expires_at: Number.MAX_SAFE_INTEGER })],
  },
];

beforeAll(async () => {
  testStore = await startTestStore();
  api = await storeOnlyApp(testStore.store);
  spec = (await (await api.request('/openapi.json')).json()) as OpenApiDocument;
  const channel = await send('PUT', '/api/v1/channels/oncall', {
    type: 'webhook',
    url: 'http://127.0.0.1:9/hook',
  });
  expect(channel.status, channel.text).toBe(200);
  const stored = await send('POST', '/api/v1/applications', application({ name: 'stored' }));
  expect(stored.status, stored.text).toBe(201);
  storedId = (stored.body as { id: string }).id;
}, 180_000);

afterAll(async () => {
  await testStore?.close();
});

describe('each rule the api enforces on a body is in the document, refused by name, accepted at its boundary', () => {
  it.each(rules.map((rule) => [rule.rule, rule] as const))('%s', async (_name, rule) => {
    const stated = expect(at(rule.schema, rule.pointer), `${rule.schema}${rule.pointer}`);
    if (typeof rule.says === 'object' && rule.says !== null && !('asymmetricMatch' in rule.says)) {
      stated.toMatchObject(rule.says);
    } else {
      stated.toEqual(rule.says);
    }
    const validate = documented(rule.schema);
    const bad = rule.bad();
    const refused = await send(rule.method, rule.path(), bad);
    expect(refused.status, refused.text).toBe(422);
    expect((refused.body as ErrorBody).error.code).toBe('validation_failed');
    expect(fieldsOf(refused.body)).toContain(rule.field);
    const badJson: unknown = typeof bad === 'string' ? JSON.parse(bad) : bad;
    expect(validate(badJson), 'the document itself refuses the bad body').toBe(!rule.expressible);
    for (const good of rule.good) {
      const body = good();
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
      const accepted = await send(rule.method, rule.path(), body);
      expect(accepted.status, accepted.text).toBe(rule.method === 'POST' ? 201 : 200);
    }
  });

  it('channel names: the path parameter states the pattern and the api holds to it', async () => {
    const parameter = spec.paths['/api/v1/channels/{name}']?.put?.parameters?.find(
      (p) => p.name === 'name',
    );
    expect(parameter?.schema).toMatchObject({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
      minLength: 1,
      maxLength: 64,
    });
    const validate = ajv.compile(parameter!.schema as object);
    const channel = { type: 'slack', url: 'https://hooks.slack.com/services/T/B/x' };
    for (const name of ['-ops', 'a b', 'x'.repeat(65)]) {
      expect(validate(name)).toBe(false);
      const refused = await send('PUT', `/api/v1/channels/${encodeURIComponent(name)}`, channel);
      expect(refused.status, refused.text).toBe(400);
      expect(fieldsOf(refused.body)).toContain('name');
    }
    for (const name of ['x'.repeat(64), 'team.ops_1-a']) {
      expect(validate(name)).toBe(true);
      const accepted = await send('PUT', `/api/v1/channels/${name}`, channel);
      expect(accepted.status, accepted.text).toBe(200);
    }
  });

  it('every integer of every request body and parameter has both bounds', () => {
    const unbounded: string[] = [];
    const walk = (node: Json | undefined, where: string, seen: readonly string[]): void => {
      if (node === null || typeof node !== 'object') return;
      if (Array.isArray(node)) {
        node.forEach((item, index) => walk(item, `${where}/${index}`, seen));
        return;
      }
      const ref = node.$ref;
      if (typeof ref === 'string') {
        const name = ref.replace('#/components/schemas/', '');
        if (!seen.includes(name)) walk(spec.components.schemas[name], where, [...seen, name]);
        return;
      }
      const has = (...keys: string[]) => keys.some((key) => typeof node[key] === 'number');
      if (
        node.type === 'integer' &&
        !(has('minimum', 'exclusiveMinimum') && has('maximum', 'exclusiveMaximum'))
      ) {
        unbounded.push(where);
      }
      for (const [key, value] of Object.entries(node)) {
        if (!['default', 'example', 'examples', 'const', 'enum'].includes(key)) {
          walk(value, `${where}/${key}`, seen);
        }
      }
    };
    let integers = 0;
    const count = (node: Json | undefined) => {
      integers += (JSON.stringify(node ?? null).match(/"type":"integer"/g) ?? []).length;
    };
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const op = operation as {
          requestBody?: { content?: Record<string, { schema?: Json }> };
          parameters?: { name: string; schema: Json }[];
        };
        for (const [type, content] of Object.entries(op.requestBody?.content ?? {})) {
          walk(content.schema, `${method} ${path} ${type}`, []);
          const ref = (content.schema as { $ref?: string } | undefined)?.$ref;
          count(ref === undefined ? content.schema : at(ref.split('/').at(-1)!, ''));
        }
        for (const parameter of op.parameters ?? []) {
          walk(parameter.schema, `${method} ${path} ${parameter.name}`, []);
        }
      }
    }
    expect(unbounded).toEqual([]);
    // The walk saw the application's integers (ports, seconds, counts), not an empty document.
    expect(integers).toBeGreaterThan(20);
  });
});

describe('a body the document accepts, keeping the described rules, is accepted', () => {
  const full = () =>
    application({
      repo: 'https://github.com/acme/rules.git',
      deployment_platform: 'ssh',
      config_path: '/etc/rules.yaml',
      stop_cmd: 'pkill -f main.js',
      build_cmd: 'npm ci && npm run build',
      artifact_path: 'dist',
      machines: [
        machine('m1', 4001, {
          name: 'first',
          status: 'healthy',
          status_reason: 'answered',
          status_since: 1_700_000_000_000,
          version: 'v1.0.0',
          labels: { zone: 'a', _tier: 'web' },
          ssh: {
            ...ssh,
            port: 2222,
            known_hosts_path: '/keys/known_hosts',
            host_key_sha256: `SHA256:${'A'.repeat(43)}`,
          },
        }),
        machine('m2', 4002, { ssh }),
      ],
      up_stream_ids: ['db'],
      down_stream_ids: ['web'],
      rollback_policy: {
        enabled: true,
        auto_rollback: false,
        interval_seconds: 10,
        consecutive_breaches: 2,
        rules: [
          { name: 'errors', metric: 'error_rate', threshold: 0.02, relative_to_baseline: true },
          { name: 'slow', metric: 'latency_p99', operator: '>=', threshold: 2, floor: 0.5 },
          { name: 'cpu', metric: 'cpu', threshold: 2, min_request_rate: 0 },
          { name: 'memory', metric: 'memory', operator: '>', threshold: 1e9 },
          { name: 'queue', metric: 'custom', promql: customPromql, operator: '<', threshold: 1 },
        ],
        no_data: 'rollback',
        notify: ['oncall'],
        ai_analysis: false,
        verify_seconds: 20,
        min_judged_evaluations: 2,
      },
      pacer: {
        batches: [10, 60, 100],
        interval_seconds: 0,
        gray_bake_seconds: 0,
        manual_approval: true,
        max_parallel: 1,
      },
      red_metrics_config: {
        ...templatesWith('2m'),
        error_ratio: `(${templatesWith('2m').errors}) / (${templatesWith('2m').rate})`,
        labels: { job: 'shop', env: 'prod' },
      },
      health_check: { path: '/ready', timeout_seconds: 1 },
      health: { interval_seconds: 3600, failures_before_error: 100 },
      auto_release: true,
    });

  const accepted: [
    string,
    'POST' | 'PUT',
    () => string,
    'ApplicationInput' | 'ApplicationUpdate' | 'NewApiToken',
    () => unknown,
  ][] = [
    [
      'the smallest application',
      'POST',
      () => '/api/v1/applications',
      'ApplicationInput',
      () => application({ machines: [] }),
    ],
    [
      'every field of an application',
      'POST',
      () => '/api/v1/applications',
      'ApplicationInput',
      full,
    ],
    [
      'batch_size with its largest value',
      'POST',
      () => '/api/v1/applications',
      'ApplicationInput',
      () =>
        application({
          pacer: { batch_size: Number.MAX_SAFE_INTEGER, max_parallel: Number.MAX_SAFE_INTEGER },
        }),
    ],
    [
      'a relative rule with its floor',
      'POST',
      () => '/api/v1/applications',
      'ApplicationInput',
      () =>
        application({
          rollback_policy: {
            rules: [
              {
                name: 'r',
                metric: 'error_rate',
                threshold: 3,
                relative_to_baseline: true,
                floor: 0,
              },
            ],
          },
        }),
    ],
    [
      'a disabled guard with its longest waits',
      'POST',
      () => '/api/v1/applications',
      'ApplicationInput',
      () =>
        application({
          rollback_policy: {
            enabled: false,
            interval_seconds: Number.MAX_SAFE_INTEGER,
            consecutive_breaches: Number.MAX_SAFE_INTEGER,
          },
        }),
    ],
    [
      'an update of one field',
      'PUT',
      () => `/api/v1/applications/${storedId}`,
      'ApplicationUpdate',
      () => ({ auto_release: true }),
    ],
    [
      'an update to ssh with ssh machines',
      'PUT',
      () => `/api/v1/applications/${storedId}`,
      'ApplicationUpdate',
      () => ({ deployment_platform: 'ssh', machines: [machine('m1', 4001, { ssh })] }),
    ],
    [
      'an update back to local',
      'PUT',
      () => `/api/v1/applications/${storedId}`,
      'ApplicationUpdate',
      () => ({ deployment_platform: 'local', machines: [machine('m1', 4001)] }),
    ],
    [
      'an empty update',
      'PUT',
      () => `/api/v1/applications/${storedId}`,
      'ApplicationUpdate',
      () => ({}),
    ],
    [
      'a token with a lifetime in seconds',
      'POST',
      () => '/api/v1/tokens',
      'NewApiToken',
      () => ({ name: 'ci for alice', role: 'deployer', expires_in: 3600 }),
    ],
    [
      'a token with a lifetime in words',
      'POST',
      () => '/api/v1/tokens',
      'NewApiToken',
      () => ({ name: '名前 🚀', role: 'admin', expires_in: '1h30m' }),
    ],
    [
      'a token with a lifetime in seconds, as words',
      'POST',
      () => '/api/v1/tokens',
      'NewApiToken',
      () => ({ name: 'x', role: 'viewer', expires_in: '86400' }),
    ],
    [
      'a token that never expires',
      'POST',
      () => '/api/v1/tokens',
      'NewApiToken',
      () => ({ name: 'forever', role: 'viewer' }),
    ],
  ];

  it.each(accepted)('%s', async (_name, method, path, schema, body) => {
    const sent = body();
    const validate = documented(schema);
    expect(validate(sent), JSON.stringify(validate.errors)).toBe(true);
    const answer = await send(method, path(), sent);
    expect(answer.status, answer.text).toBe(method === 'POST' ? 201 : 200);
  });
});
