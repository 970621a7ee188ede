import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { LocalPackageStore } from '../../activities/package-store/local';
import { createApp } from '../../api/app';
import { ApplicationInput } from '../../domain';
import { tokenFor } from '../support/api-token';
import { freePort } from '../support/free-port';
import { startTestStore, type TestStore } from '../support/mongo';
import { recordingHealthWatchers } from '../support/releases';

/**
 * The api's edges over real HTTP and FerretDB: package downloads only through signed,
 * unexpired URLs; malformed percent-encoding anywhere is a 400; bodies past the limit are a
 * 413 on every route that takes one; a token's burst of writes is a 429 once past its rate.
 * One clock, moved by the tests, serves both the URL expiry and the rate limit.
 */
let testStore: TestStore;
let packageDir: string;
let server: ServerType | undefined;
let apiUrl: string;
let store: LocalPackageStore;
let clock = Date.UTC(2026, 5, 1, 12);
/** twin1 and twin2: two tokens with one name ("twin"), as an admin may make them. */
const tokens: Record<'alice' | 'bob' | 'carol' | 'twin1' | 'twin2', string> = {
  alice: '',
  bob: '',
  carol: '',
  twin1: '',
  twin2: '',
};
let appId: string;
const writesPerMinute = 5;
const maxBodyBytes = 64 * 1024;
const maxPackageBytes = 32 * 1024;

beforeAll(async () => {
  testStore = await startTestStore();
  packageDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-edges-packages-'));
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  store = new LocalPackageStore({
    dir: packageDir,
    baseUrl: `${apiUrl}/packages`,
    urlSecret: 'edges-url-secret-0123456789abcdef0123456789',
    now: () => clock,
  });
  const app = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases: recordingHealthWatchers().releases,
    logger: createLogger('api', 'silent'),
    packageStore: store,
    maxBodyBytes,
    maxPackageBytes,
    writeRateLimit: { perMinute: writesPerMinute, now: () => clock },
    githubWebhookSecret: 'edges-webhook-secret',
  });
  tokens.alice = await tokenFor(testStore.store, 'admin', 'alice');
  tokens.bob = await tokenFor(testStore.store, 'admin', 'bob');
  tokens.carol = await tokenFor(testStore.store, 'admin', 'carol');
  tokens.twin1 = await tokenFor(testStore.store, 'admin', 'twin');
  tokens.twin2 = await tokenFor(testStore.store, 'admin', 'twin');
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
  headers: Headers;
  body: { error?: { code: string; message: string; details?: unknown } } & Record<string, unknown>;
  bytes: Buffer;
}

async function call(
  pathAndQuery: string,
  init: RequestInit & { token?: keyof typeof tokens } = {},
): Promise<Answer> {
  const { token, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${tokens[token]}`);
  const response = await fetch(`${apiUrl}${pathAndQuery}`, { ...rest, headers });
  const bytes = Buffer.from(await response.arrayBuffer());
  const json = (response.headers.get('content-type') ?? '').includes('application/json');
  return {
    status: response.status,
    headers: response.headers,
    body: json ? (JSON.parse(bytes.toString('utf8')) as Answer['body']) : {},
    bytes,
  };
}

/**
 * A request on a connection of its own, closed after: the api answers a body past its limit
 * before reading it all and drops the connection, which a pooled connection would carry over
 * to the next request. `chunked` sends the body without a length, in pieces.
 */
function sendOnce(
  pathAndQuery: string,
  options: { method: string; token: keyof typeof tokens; headers: Record<string, string> },
  body: Buffer,
  chunked = false,
): Promise<{ status: number; body: Answer['body'] }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = http.request(
      `${apiUrl}${pathAndQuery}`,
      {
        method: options.method,
        agent: false,
        headers: {
          ...options.headers,
          authorization: `Bearer ${tokens[options.token]}`,
          ...(chunked ? {} : { 'content-length': String(body.length) }),
        },
      },
      (response) => {
        answered = true;
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(parts).toString('utf8')) as Answer['body'],
          }),
        );
        response.on('error', reject);
      },
    );
    // The api may close the connection while the rest of the body is still being sent.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    for (let at = 0; at < body.length; at += 8192) request.write(body.subarray(at, at + 8192));
    request.end();
  });
}

/**
 * A GET sent exactly as written, on a connection of its own: fetch and URL would normalise a
 * path such as `/packages/../../etc/passwd` to `/etc/passwd` before it left this process.
 */
function rawGet(pathAndQuery: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(apiUrl);
    const request = http.request(
      { hostname, port, path: pathAndQuery, method: 'GET', agent: false },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            text: Buffer.concat(parts).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** The path and query of a URL the store signed. */
const local = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

describe('GET /packages/<key>', () => {
  const key = 'shop/shop-v1.0.0.tar.gz';
  const bytes = randomBytes(40_000);

  beforeAll(async () => {
    await mkdir(path.join(packageDir, 'shop'), { recursive: true });
    await writeFile(path.join(packageDir, key), bytes);
    await writeFile(path.join(packageDir, '.url-secret'), 'not-this-one', { mode: 0o600 });
  });

  it('serves the bytes to a fresh signed URL', async () => {
    const answer = await call(local(await store.downloadUrl(key, 60)));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/gzip');
    expect(answer.bytes.equals(bytes)).toBe(true);
  });

  it('refuses an unsigned request with 401, the same whether the package exists or not', async () => {
    const existing = await call(`/packages/${key}`);
    const missing = await call('/packages/shop/shop-v9.9.9.tar.gz');
    expect(existing.status).toBe(401);
    expect(existing.body.error?.code).toBe('unauthorized');
    expect(existing.body.error?.message).toContain('need a signed URL');
    expect(existing.headers.get('www-authenticate')).toContain('Signature');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual(existing.body);
    // A bearer token is no way around the signature.
    expect((await call(`/packages/${key}`, { token: 'alice' })).status).toBe(401);
    // Half a signature is none.
    const signed = new URL(await store.downloadUrl(key, 60));
    expect(
      (await call(`/packages/${key}?expires=${signed.searchParams.get('expires')}`)).status,
    ).toBe(401);
  });

  it('refuses a tampered URL with 403, the same whether the package exists or not', async () => {
    const signed = new URL(await store.downloadUrl(key, 60));
    const expires = signed.searchParams.get('expires')!;
    const signature = signed.searchParams.get('signature')!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    const attempts = [
      `/packages/${key}?expires=${expires}&signature=${flipped}`,
      // A later expiry under the same signature.
      `/packages/${key}?expires=${Number(expires) + 86_400}&signature=${signature}`,
      // The signature of one package used for another.
      `/packages/shop/shop-v9.9.9.tar.gz?expires=${expires}&signature=${signature}`,
      `/packages/${key}?expires=${expires}&signature=${signature.slice(0, 32)}`,
      `/packages/${key}?expires=soon&signature=${signature}`,
    ];
    const answers = await Promise.all(attempts.map((attempt) => call(attempt)));
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual(answers[0]!.body);
      expect(answer.bytes.includes(bytes.subarray(0, 64))).toBe(false);
    }
    expect(answers[0]!.body.error?.message).toContain('not valid for its path and expiry');
  });

  it('refuses an expired URL with 403, saying it expired', async () => {
    const url = local(await store.downloadUrl(key, 60));
    clock += 60_000;
    expect((await call(url)).status).toBe(200);
    clock += 1000;
    const answer = await call(url);
    expect(answer.status).toBe(403);
    expect(answer.body.error?.code).toBe('forbidden');
    expect(answer.body.error?.message).toContain('this package URL expired at');
    // A URL signed now works again: machines get theirs at deploy time.
    expect((await call(local(await store.downloadUrl(key, 60)))).status).toBe(200);
  });

  it('answers 404 to a validly signed URL of a package that is not there, hidden or outside', async () => {
    for (const missing of ['shop/shop-v9.9.9.tar.gz', '.url-secret']) {
      const answer = await call(local(await store.downloadUrl(missing, 60)));
      expect(answer.status, missing).toBe(404);
      expect(answer.body.error?.message, missing).toBe(`no package ${missing}`);
    }
  });

  it('answers 404 from the handler itself to a key that leaves the folder, validly signed', async () => {
    // Percent-encoded slashes reach the handler as one key, `../../etc/passwd`, which it
    // decodes once; the signature is the store's own for that key.
    const key = '../../etc/passwd';
    const { search } = new URL(await store.downloadUrl(key, 60));
    const answer = await rawGet(`/packages/..%2F..%2Fetc%2Fpasswd${search}`);
    expect(answer.status, answer.text).toBe(404);
    expect(JSON.parse(answer.text)).toEqual({
      error: { code: 'not_found', message: `no package ${key}` },
    });
    expect(answer.text).not.toContain('root:');
    // The same key signed for another path is refused before it is looked at.
    const other = new URL(await store.downloadUrl('shop/shop-v1.0.0.tar.gz', 60)).search;
    expect((await rawGet(`/packages/..%2F..%2Fetc%2Fpasswd${other}`)).status).toBe(403);
  });
});

describe('malformed percent-encoding', () => {
  it('is a 400 on /packages and the examples of the issue', async () => {
    for (const bad of [
      '/packages/%ZZ',
      '/packages/shop/%E0%A4%A',
      '/api/v1/applications/%E0%A4%A',
    ]) {
      const answer = await call(bad, { token: 'alice' });
      expect(answer.status, bad).toBe(400);
      expect(answer.body.error?.code, bad).toBe('bad_request');
      expect(answer.body.error?.message, bad).toContain('not valid percent-encoding');
    }
  });

  it('is a 400 on every route of the document, in the path or in the query', async () => {
    const document = (await call('/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(document.paths).flatMap(([route, item]) =>
      Object.keys(item).map((method) => ({ route, method: method.toUpperCase() })),
    );
    expect(routes.length).toBeGreaterThan(20);
    for (const { route, method } of routes) {
      const inPath = route.replace(/\{[^}]+\}/g, '%E0%A4%A');
      const targets = [`${route.replace(/\{[^}]+\}/g, 'x')}?filter=%ZZ`];
      if (inPath !== route) targets.push(inPath);
      for (const target of targets) {
        const answer = await call(target, {
          method,
          token: 'alice',
          ...(method === 'GET'
            ? {}
            : { body: '{}', headers: { 'content-type': 'application/json' } }),
        });
        expect(answer.status, `${method} ${target}`).toBe(400);
        expect(answer.body.error?.code, `${method} ${target}`).toBe('bad_request');
      }
    }
    // And on the routes outside the document.
    for (const target of [
      '/console/%ZZ',
      '/docs/assets/swagger-ui-dist/%E0%A4%A',
      '/metrics?x=%',
    ]) {
      expect((await call(target)).status, target).toBe(400);
    }
  });
});

describe('the body size limit', () => {
  const big = (bytes: number) => Buffer.from(JSON.stringify({ padding: 'x'.repeat(bytes) }));

  it('answers 413 with a JSON error to a large body on a JSON route and on both webhooks', async () => {
    const routes = [
      '/api/v1/applications',
      '/api/v1/webhooks/github',
      '/api/v1/webhooks/alertmanager',
    ];
    for (const route of routes) {
      const answer = await sendOnce(
        route,
        { method: 'POST', token: 'carol', headers: { 'content-type': 'application/json' } },
        big(maxBodyBytes),
      );
      expect(answer.status, route).toBe(413);
      expect(answer.body.error?.code, route).toBe('payload_too_large');
    }
  });

  it('answers 413 to a large body sent without a length (chunked)', async () => {
    for (const route of ['/api/v1/webhooks/github', '/api/v1/webhooks/alertmanager']) {
      const answer = await sendOnce(
        route,
        {
          method: 'POST',
          token: 'carol',
          headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
        },
        big(maxBodyBytes * 2),
        true,
      );
      expect(answer.status, route).toBe(413);
      expect(answer.body.error?.code, route).toBe('payload_too_large');
    }
  });

  it('answers 413 to a package upload past its own limit', async () => {
    const answer = await sendOnce(
      `/api/v1/applications/${appId}/packages/v9.0.0`,
      { method: 'PUT', token: 'carol', headers: { 'content-type': 'application/gzip' } },
      randomBytes(maxPackageBytes + 1),
    );
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe('payload_too_large');
    expect(answer.body.error?.message).toContain(`${maxPackageBytes} bytes`);
  });
});

describe('the write rate limit', () => {
  const create = (name: string, token: keyof typeof tokens) =>
    call('/api/v1/applications', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        deploy_path: `/srv/${name}`,
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
      }),
    });
  const names = async (token: keyof typeof tokens) =>
    ((await call('/api/v1/applications', { token })).body.items as { name: string }[]).map(
      (app) => app.name,
    );

  it('answers 429 with Retry-After past a token’s burst; other tokens and reads go on', async () => {
    for (let i = 1; i <= writesPerMinute; i++) {
      expect((await create(`burst-${i}`, 'alice')).status).toBe(201);
    }
    const refused = await create('burst-6', 'alice');
    expect(refused.status).toBe(429);
    // One write comes back every 60/5 = 12 seconds.
    expect(refused.headers.get('retry-after')).toBe('12');
    expect(refused.body.error?.code).toBe('rate_limited');
    expect(refused.body.error?.message).toContain(
      `token alice made more than ${writesPerMinute} writes in a minute (API_WRITE_RATE_PER_MINUTE)`,
    );
    const deleteRefused = await call(`/api/v1/applications/${appId}`, {
      method: 'DELETE',
      token: 'alice',
    });
    expect(deleteRefused.status).toBe(429);

    // The refused writes did nothing; alice still reads; bob's bucket is his own.
    expect(await names('alice')).not.toContain('burst-6');
    expect(await names('alice')).toContain('shop');
    expect((await create('bob-1', 'bob')).status).toBe(201);

    clock += 12_000;
    expect((await create('burst-6', 'alice')).status).toBe(201);
    expect((await create('burst-7', 'alice')).status).toBe(429);
    expect(await names('bob')).toEqual(expect.arrayContaining(['burst-6', 'bob-1']));
    expect(await names('bob')).not.toContain('burst-7');
  });

  it('never refuses an Alertmanager delivery: a token past its write rate still reports alerts', async () => {
    // alice's bucket is empty (the test before); Alertmanager retries only on a 5xx, so a 429
    // would drop the alert.
    expect((await create('burst-8', 'alice')).status).toBe(429);
    const alert = {
      version: '4',
      status: 'firing',
      receiver: 'relguard',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighErrorRate', app: 'shop' },
          annotations: {},
          startsAt: new Date(clock).toISOString(),
        },
      ],
    };
    for (let i = 0; i <= writesPerMinute; i++) {
      const answer = await call('/api/v1/webhooks/alertmanager', {
        method: 'POST',
        token: 'alice',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alert),
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      expect(answer.body.ignored).toEqual([
        { alert: 'HighErrorRate', reason: expect.stringContaining('shop') as unknown },
      ]);
    }
    // Still authenticated by its token.
    const anonymous = await call('/api/v1/webhooks/alertmanager', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alert),
    });
    expect(anonymous.status).toBe(401);
    expect((await create('burst-8', 'alice')).status).toBe(429);
  });

  it('counts each token on its own, even two with one name', async () => {
    for (let i = 1; i <= writesPerMinute; i++) {
      expect((await create(`twin-a-${i}`, 'twin1')).status).toBe(201);
    }
    expect((await create('twin-a-6', 'twin1')).status).toBe(429);
    // The other "twin" has its own, full bucket.
    for (let i = 1; i <= writesPerMinute; i++) {
      expect((await create(`twin-b-${i}`, 'twin2')).status).toBe(201);
    }
    expect((await create('twin-b-6', 'twin2')).status).toBe(429);
  });

  it('is in the OpenAPI document on the writes a token makes, with Retry-After', async () => {
    const document = (await call('/openapi.json')).body as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>;
    };
    const post = document.paths['/api/v1/applications']!.post!;
    expect(post.responses['429']?.headers).toHaveProperty('Retry-After');
    expect(document.paths['/api/v1/applications']!.get!.responses).not.toHaveProperty('429');
    // Webhooks are never counted: Alertmanager retries only on a 5xx, GitHub not at all.
    expect(document.paths['/api/v1/webhooks/alertmanager']!.post!.responses).not.toHaveProperty(
      '429',
    );
    expect(document.paths['/api/v1/webhooks/github']!.post!.responses).not.toHaveProperty('429');
  });
});
