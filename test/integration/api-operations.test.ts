import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { LocalPackageStore } from '../../activities/package-store/local';
import { createApp } from '../../api/app';
import { documentTags } from '../../api/docs';
import { operationIds } from '../../api/responses';
import { ApplicationInput } from '../../domain';
import { tokenFor } from '../support/api-token';
import { freePort } from '../support/free-port';
import { startTestStore, type TestStore } from '../support/mongo';
import {
  operationsOf,
  resolved,
  responseValidator,
  schemaHasPointer,
  servedDocument,
  validatorOf,
  type OpenApiDocument,
} from '../support/openapi-document';
import { recordingHealthWatchers } from '../support/releases';

/**
 * The conventions of the api's operations, over real HTTP and FerretDB: what /openapi.json says
 * of each operation (operationId, summary, tag, security, servers, links, the statuses the
 * middleware answers), the 405 with Allow of a method a path does not declare, and the 413,
 * 415 and 429 answered in the shape the document declares.
 */
let testStore: TestStore;
let packageDir: string;
let server: ServerType | undefined;
let apiUrl: string;
let document: OpenApiDocument;
let appId: string;
/** Each test that writes has its own token: the write rate limit counts per token. */
const tokens = { admin: '', deployer: '', uploader: '', burst: '' };
const maxBodyBytes = 16 * 1024;
const writesPerMinute = 5;
const clock = Date.UTC(2026, 5, 1, 12);
const publicUrl = 'https://relguard.example.com/';

beforeAll(async () => {
  testStore = await startTestStore();
  packageDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-operations-packages-'));
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const app = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases: recordingHealthWatchers().releases,
    logger: createLogger('api', 'silent'),
    packageStore: new LocalPackageStore({
      dir: packageDir,
      baseUrl: `${apiUrl}/packages`,
      urlSecret: 'operations-url-secret-0123456789abcdef012345',
    }),
    maxBodyBytes,
    writeRateLimit: { perMinute: writesPerMinute, now: () => clock },
    githubWebhookSecret: 'operations-webhook-secret',
    publicUrl,
  });
  tokens.admin = await tokenFor(testStore.store, 'admin', 'alice');
  tokens.deployer = await tokenFor(testStore.store, 'deployer', 'ci');
  tokens.uploader = await tokenFor(testStore.store, 'deployer', 'uploader');
  tokens.burst = await tokenFor(testStore.store, 'admin', 'burst');
  appId = (
    await testStore.store.applications.create(
      ApplicationInput.parse({
        name: 'shop',
        deploy_path: '/srv/shop',
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
      }),
    )
  ).id;
  server = await new Promise<ServerType>((resolve) => {
    const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () =>
      resolve(listening),
    );
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('api not on its port');
  document = (await (await send('GET', '/openapi.json')).json()) as OpenApiDocument;
});

afterAll(async () => {
  if (server !== undefined) {
    const listening = server;
    await new Promise((resolve) => listening.close(resolve));
  }
  await testStore?.close();
  if (packageDir !== undefined) await rm(packageDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

/**
 * A request exactly as written, on a connection of its own (fetch refuses TRACE, and would add
 * a Content-Type of its own to a body): `headers` are sent as given, and nothing else but the
 * token and the body's length.
 */
function send(
  method: string,
  pathAndQuery: string,
  options: { token?: keyof typeof tokens; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(apiUrl);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${tokens[options.token]}`;
  if (options.body !== undefined) headers['content-length'] = String(options.body.length);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname, port, path: pathAndQuery, method, headers, agent: false },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: () => JSON.parse(text) as unknown,
          });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The document's path with each `{parameter}` filled in. */
function concrete(documentPath: string): string {
  return documentPath
    .replace('{key}', 'shop/shop-v1.0.0.tar.gz')
    .replace('{version}', 'v1.0.0')
    .replace(/\{[^}]+\}/g, 'x1');
}

/** What Allow says for a path declaring `methods`: HEAD with GET, OPTIONS always. */
function expectedAllow(methods: string[]): string {
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
  const allowed = new Set(methods.map((method) => method.toUpperCase()));
  if (allowed.has('GET')) allowed.add('HEAD');
  allowed.add('OPTIONS');
  return [...allowed].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(', ');
}

const publicOperations = ['downloadPackage', 'getHealth', 'receiveGithubWebhook'];

describe('the operations of /openapi.json', () => {
  it('each has a unique camelCase operationId from the list, a summary, one declared tag and its security', () => {
    const operations = operationsOf(document);
    const ids = operations.map(({ operation }) => operation.operationId);
    // Every operation the api serves (the signed download too: the store is local) is listed.
    expect([...ids].sort()).toEqual([...operationIds].sort());
    expect(new Set(ids).size).toBe(ids.length);
    const declaredTags = (document.tags ?? []).map((tag) => tag.name);
    expect(declaredTags).toEqual(documentTags.map((tag) => tag.name));
    for (const tag of document.tags ?? []) expect(tag.description, tag.name).toBeTruthy();
    const used = new Set<string>();
    for (const { path, method, operation } of operations) {
      const label = `${method.toUpperCase()} ${path}`;
      expect(operation.operationId, label).toMatch(/^[a-z][a-zA-Z0-9]*$/);
      expect(operation.summary?.trim(), label).toBeTruthy();
      expect(operation.tags, label).toHaveLength(1);
      expect(declaredTags, label).toContain(operation.tags?.[0]);
      used.add(operation.tags![0]!);
      if (publicOperations.includes(operation.operationId!)) {
        expect(operation.security, label).toEqual([]);
      } else {
        expect(operation.security, label).toEqual([{ bearer: [] }]);
        expect(Object.keys(operation.responses), label).toEqual(
          expect.arrayContaining(['401', '403', '503']),
        );
      }
      // A malformed percent-encoding is a 400 anywhere.
      expect(operation.responses['400'], label).toBeDefined();
      if (operation.requestBody !== undefined && path.startsWith('/api/')) {
        expect(operation.responses['413'], label).toBeDefined();
      }
      // Every JSON body is checked for its Content-Type but the GitHub webhook's, which reads
      // its raw bytes for the signature and answers a form body 400 saying what to set.
      if (operation.requestBody !== undefined && operation.operationId !== 'receiveGithubWebhook') {
        expect(operation.responses['415'], label).toBeDefined();
      }
      const writes = ['post', 'put', 'delete'].includes(method);
      if (writes && path.startsWith('/api/v1/') && !path.startsWith('/api/v1/webhooks/')) {
        const limited = operation.responses['429'];
        expect(limited?.headers?.['Retry-After']?.schema, label).toEqual({
          type: 'integer',
          minimum: 1,
        });
      }
    }
    expect([...used].sort()).toEqual([...declaredTags].sort());
    // The bearer scheme they name is declared.
    expect(document.components.securitySchemes?.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
  });

  it('names the configured public URL as its first server, and / when there is none', async () => {
    // Without the trailing slash: every path starts with one. Then the page's own origin.
    expect(document.servers?.map((server) => server.url)).toEqual([
      'https://relguard.example.com',
      '/',
    ]);
    const unconfigured = await servedDocument();
    expect(unconfigured.servers?.map((server) => server.url)).toEqual(['/']);
  });

  it('has one operation per release action, and none that takes {action}', () => {
    const actions = ['pause', 'resume', 'approve', 'promote', 'rollback', 'cancel'];
    for (const action of actions) {
      const operation = document.paths[`/api/v1/deployments/{id}/${action}`]?.post;
      expect(operation?.operationId, action).toBe(`${action}Deployment`);
      expect(Object.keys(operation?.responses ?? {})).toEqual(
        expect.arrayContaining(['202', '404', '409', '415', '422']),
      );
    }
    expect(Object.keys(document.paths).filter((path) => path.includes('{action}'))).toEqual([]);
    expect(Object.keys(document.paths['/api/v1/deployments/{id}/analysis'] ?? {})).toEqual(['get']);
  });

  it("links each created resource to the operations that take its id, each expression naming a field of the source's answer and a parameter or body field of its target", () => {
    const byId = new Map(
      operationsOf(document).map((entry) => [entry.operation.operationId, entry] as const),
    );
    const linked = new Map<string, string[]>();
    for (const { path, method, operation } of operationsOf(document)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [name, link] of Object.entries(response.links ?? {})) {
          const label = `${operation.operationId} ${status} -> ${name}`;
          const target = byId.get(link.operationId);
          expect(target, label).toBeDefined();
          const source = response.content?.['application/json']?.schema;
          const expressions = { ...link.parameters, ...link.requestBody };
          for (const parameter of Object.keys(link.parameters ?? {})) {
            const names = (target!.operation.parameters ?? []).map((p) => p.name);
            expect(names, `${label}: ${parameter}`).toContain(parameter);
          }
          const body = resolved(
            document,
            target!.operation.requestBody?.content['application/json']?.schema,
          );
          for (const field of Object.keys(link.requestBody ?? {})) {
            expect(schemaHasPointer(document, body, `/${field}`), `${label}: ${field}`).toBe(true);
          }
          for (const expression of Object.values(expressions)) {
            const pointer = /^\$response\.body#(\/.*)$/.exec(expression)?.[1];
            expect(pointer, `${label}: ${expression}`).toBeDefined();
            expect(
              schemaHasPointer(document, source, pointer!),
              `${label}: ${expression} in ${method.toUpperCase()} ${path}`,
            ).toBe(true);
          }
          linked.set(operation.operationId!, [
            ...(linked.get(operation.operationId!) ?? []),
            link.operationId!,
          ]);
        }
      }
    }
    expect(linked.get('createApplication')).toEqual(
      expect.arrayContaining([
        'getApplication',
        'updateApplication',
        'deleteApplication',
        'createDeployment',
        'uploadPackage',
      ]),
    );
    expect(linked.get('createDeployment')).toEqual(
      expect.arrayContaining([
        'getDeployment',
        'getAnalysis',
        'getGuardEvaluations',
        'pauseDeployment',
        'promoteDeployment',
        'rollbackDeployment',
        'cancelDeployment',
      ]),
    );
    expect(linked.get('createToken')).toEqual(['revokeToken']);
    expect(linked.get('putChannel')).toEqual(['deleteChannel']);
  });
});

describe('a method a path does not declare', () => {
  it('is answered 405 with Allow, before any token is asked for', async () => {
    const cases: [method: string, path: string, allow: string][] = [
      ['TRACE', '/healthz', 'GET, HEAD, OPTIONS'],
      ['PUT', '/healthz', 'GET, HEAD, OPTIONS'],
      ['PATCH', '/api/v1/applications', 'GET, HEAD, POST, OPTIONS'],
      ['DELETE', '/api/v1/applications', 'GET, HEAD, POST, OPTIONS'],
      ['PATCH', `/api/v1/applications/${appId}`, 'GET, HEAD, PUT, DELETE, OPTIONS'],
      ['DELETE', '/api/v1/tokens', 'GET, HEAD, POST, OPTIONS'],
      ['POST', '/api/v1/deployments/d1/analysis', 'GET, HEAD, OPTIONS'],
      ['POST', '/api/v1/deployments/d1/guard', 'GET, HEAD, OPTIONS'],
      ['GET', '/api/v1/deployments/d1/pause', 'POST, OPTIONS'],
      ['HEAD', '/api/v1/webhooks/github', 'POST, OPTIONS'],
      ['TRACE', '/api/v1/whoami', 'GET, HEAD, OPTIONS'],
      ['QUERY', '/api/v1/deployments', 'GET, HEAD, POST, OPTIONS'],
      ['POST', '/openapi.json', 'GET, HEAD, OPTIONS'],
      ['DELETE', '/packages/shop/shop-v1.0.0.tar.gz', 'GET, HEAD, OPTIONS'],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await send(method, path);
      const label = `${method} ${path}`;
      expect(answer.status, label).toBe(405);
      expect(answer.headers.allow, label).toBe(allow);
      if (method === 'HEAD') continue;
      expect(answer.json(), label).toMatchObject({
        error: { code: 'method_not_allowed', details: { allow: allow.split(', ') } },
      });
    }
    // With a token, the same.
    expect((await send('POST', '/api/v1/deployments/d1/analysis', { token: 'admin' })).status).toBe(
      405,
    );
  });

  it("OPTIONS answers 204 with Allow listing each documented path's methods", async () => {
    for (const [documentPath, item] of Object.entries(document.paths)) {
      const answer = await send('OPTIONS', concrete(documentPath));
      expect(answer.status, documentPath).toBe(204);
      expect(answer.headers.allow, documentPath).toBe(expectedAllow(Object.keys(item)));
    }
  });

  it('leaves HEAD of a GET, and paths no route takes, as they were', async () => {
    const head = await send('HEAD', '/healthz');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await send('HEAD', '/api/v1/whoami')).status).toBe(401);
    expect((await send('HEAD', '/api/v1/whoami', { token: 'deployer' })).status).toBe(200);
    // No route: the token first, then 404.
    expect((await send('POST', '/api/v1/deployments/d1/frobnicate')).status).toBe(401);
    expect(
      (await send('POST', '/api/v1/deployments/d1/frobnicate', { token: 'deployer' })).status,
    ).toBe(404);
    expect((await send('GET', '/nowhere')).status).toBe(404);
  });
});

describe('the statuses of the middleware and the body checks, as declared', () => {
  it('413: a body past the limit, before the token is looked at', async () => {
    const answer = await send('POST', '/api/v1/applications', {
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(maxBodyBytes + 1, 0x20),
    });
    expect(answer.status).toBe(413);
    const validate = responseValidator(document, '/api/v1/applications', 'post', 413);
    expect(validate(answer.json()), JSON.stringify(validate.errors)).toBe(true);
    expect(answer.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('415: a JSON operation sent another Content-Type, or a body without one, creates nothing', async () => {
    const before = await testStore.store.applications.list();
    const input = {
      name: 'cart',
      deploy_path: '/srv/cart',
      start_cmd: 'node main.js',
      machines: [{ id: 'm1', host: '127.0.0.1', port: 4002 }],
    };
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      {} as Record<string, string>,
    ]) {
      const answer = await send('POST', '/api/v1/applications', {
        token: 'admin',
        headers,
        body: json(input),
      });
      expect(answer.status, JSON.stringify(headers)).toBe(415);
      const validate = responseValidator(document, '/api/v1/applications', 'post', 415);
      expect(validate(answer.json()), JSON.stringify(validate.errors)).toBe(true);
      expect(answer.json()).toMatchObject({
        error: { code: 'unsupported_media_type', details: { accepted: ['application/json'] } },
      });
      expect((answer.json() as { error: { message: string } }).error.message).toContain(
        headers['content-type'] ?? '(none, with a body)',
      );
    }
    expect(await testStore.store.applications.list()).toEqual(before);
    // A release action's body is optional, but one sent is JSON.
    const action = await send('POST', '/api/v1/deployments/d1/pause', {
      token: 'deployer',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('because'),
    });
    expect(action.status).toBe(415);
    // application/json with parameters is JSON.
    const created = await send('POST', '/api/v1/applications', {
      token: 'admin',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: json(input),
    });
    expect(created.status).toBe(201);
  });

  it('415: a package upload says it is a gzip, or bytes, or says nothing', async () => {
    const uploadPath = `/api/v1/applications/${appId}/packages`;
    const refused = await send('PUT', `${uploadPath}/v2.0.0`, {
      token: 'uploader',
      headers: { 'content-type': 'text/plain' },
      body: randomBytes(512),
    });
    expect(refused.status).toBe(415);
    const validate = responseValidator(
      document,
      '/api/v1/applications/{id}/packages/{version}',
      'put',
      415,
    );
    expect(validate(refused.json()), JSON.stringify(validate.errors)).toBe(true);
    expect(refused.json()).toMatchObject({
      error: {
        code: 'unsupported_media_type',
        details: {
          accepted: ['application/gzip', 'application/x-gzip', 'application/octet-stream'],
        },
      },
    });
    expect(await testStore.store.packages.findByVersion(appId, 'v2.0.0')).toBeUndefined();
    // What the document declares is taken; no Content-Type is taken as bytes (RFC 9110).
    const declared = Object.keys(
      document.paths['/api/v1/applications/{id}/packages/{version}']?.put?.requestBody?.content ??
        {},
    );
    expect(declared).toEqual([
      'application/gzip',
      'application/x-gzip',
      'application/octet-stream',
    ]);
    const sent: [version: string, headers: Record<string, string>][] = [
      ['v2.0.1', { 'content-type': 'application/gzip' }],
      ['v2.0.2', { 'content-type': 'application/x-gzip' }],
      ['v2.0.3', { 'content-type': 'application/octet-stream' }],
      ['v2.0.4', {}],
    ];
    for (const [version, headers] of sent) {
      const answer = await send('PUT', `${uploadPath}/${version}`, {
        token: 'uploader',
        headers,
        body: randomBytes(512),
      });
      expect(answer.status, `${version} ${JSON.stringify(headers)}`).toBe(201);
    }
  });

  it("429: a token's writes past its rate, with Retry-After as declared", async () => {
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let write = 0; write <= writesPerMinute; write++) {
      last = await send('DELETE', '/api/v1/tokens/no-such-token', { token: 'burst' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array<number>(writesPerMinute).fill(404), 429]);
    const declared = document.paths['/api/v1/tokens/{id}']?.delete?.responses['429'];
    const retryAfter = Number(last!.headers['retry-after']);
    expect(validatorOf(document, declared!.headers!['Retry-After']!.schema!)(retryAfter)).toBe(
      true,
    );
    const validate = responseValidator(document, '/api/v1/tokens/{id}', 'delete', 429);
    expect(validate(last!.json()), JSON.stringify(validate.errors)).toBe(true);
    expect(last!.json()).toMatchObject({
      error: { code: 'rate_limited', details: { retry_after_seconds: retryAfter } },
    });
  });
});
