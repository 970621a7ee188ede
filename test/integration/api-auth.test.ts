import { MongoClient, type Document } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TokenRepository } from '../../activities/db';
import { createLogger } from '../../activities/logger';
import { createApp, type RelguardApp } from '../../api/app';
import type { Releases } from '../../api/releases';
import { ApplicationInput, type ApiToken, type Deployment, type Role } from '../../domain';
import { tokenFor, withToken } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';

/**
 * Bearer tokens with roles over real storage: every protected route refuses a request without
 * a valid token (401) and a token whose role is below its need (403); tokens are stored hashed
 * and shown once; every write is in the audit log, and a release action on its Deployment; a
 * token's last use is written once a minute, off the request's path.
 */
let testStore: TestStore;
let app: RelguardApp;
const tokens = {} as Record<Role, string>;
const signals: { action: string; requested_by: string }[] = [];

const releases: Releases = new Proxy(releasesNotUsedHere, {
  get(target, method, receiver) {
    if (method === 'progress') return () => Promise.resolve(undefined);
    if (method === 'workflowUrl') return (id: string) => `http://ui/${id}`;
    if (method === 'signal') {
      return (_: unknown, action: string, request: { requested_by: string }) => {
        signals.push({ action, requested_by: request.requested_by });
        return Promise.resolve();
      };
    }
    return Reflect.get(target, method, receiver) as unknown;
  },
});

beforeAll(async () => {
  testStore = await startTestStore();
  app = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'silent'),
  });
  for (const role of ['viewer', 'deployer', 'admin'] as const) {
    tokens[role] = await tokenFor(testStore.store, role);
  }
});
afterAll(async () => {
  await testStore?.close();
});

async function call(method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await app.request(path, {
    method,
    headers,
    ...(body === undefined || method === 'GET' ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text.startsWith('{') ? JSON.parse(text) : text) as Record<string, unknown>,
    headers: response.headers,
  };
}

/** Every protected route, with the role it needs. */
const routes: [method: string, path: string, needs: Role][] = [
  ['GET', '/api/v1/applications', 'viewer'],
  ['GET', '/api/v1/applications/x', 'viewer'],
  ['GET', '/api/v1/applications/x/packages', 'viewer'],
  ['GET', '/api/v1/deployments', 'viewer'],
  ['GET', '/api/v1/deployments/x', 'viewer'],
  ['GET', '/api/v1/deployments/x/analysis', 'viewer'],
  ['POST', '/api/v1/deployments', 'deployer'],
  ['POST', '/api/v1/deployments/x/pause', 'deployer'],
  ['POST', '/api/v1/deployments/x/rollback', 'deployer'],
  ['POST', '/api/v1/packages', 'deployer'],
  ['PUT', '/api/v1/applications/x/packages/v1', 'deployer'],
  ['POST', '/api/v1/webhooks/alertmanager', 'deployer'],
  ['POST', '/api/v1/applications', 'admin'],
  ['PUT', '/api/v1/applications/x', 'admin'],
  ['DELETE', '/api/v1/applications/x', 'admin'],
  ['POST', '/api/v1/tokens', 'admin'],
  ['GET', '/api/v1/tokens', 'admin'],
  ['DELETE', '/api/v1/tokens/x', 'admin'],
  ['GET', '/api/v1/audit', 'admin'],
];
const below: Record<Role, Role | undefined> = {
  viewer: undefined,
  deployer: 'viewer',
  admin: 'deployer',
};

describe('api authentication', () => {
  it.each(routes)('%s %s is 401 without a token and with an unknown one', async (method, path) => {
    const none = await call(method, path, undefined, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await call(method, path, 'rg_not-a-token', {})).status).toBe(401);
  });

  it.each(routes)('%s %s needs the %s role', async (method, path, needs) => {
    const lower = below[needs];
    if (lower !== undefined) {
      const refused = await call(method, path, tokens[lower], {});
      expect(refused.status).toBe(403);
      expect(String((refused.body.error as { message: string }).message)).toContain(
        `needs the ${needs} role`,
      );
    }
    const allowed = await call(method, path, tokens[needs], {});
    expect([401, 403]).not.toContain(allowed.status);
  });

  it('leaves health, docs, metrics and package files open', async () => {
    for (const path of ['/healthz', '/openapi.json', '/metrics']) {
      expect((await call('GET', path)).status, path).toBe(200);
    }
  });
});

describe('api tokens', () => {
  it('are shown once, stored hashed, listed without secrets, and revoked', async () => {
    const created = await call('POST', '/api/v1/tokens', tokens.admin, {
      name: 'ci',
      role: 'deployer',
    });
    expect(created.status).toBe(201);
    const secret = created.body.token as string;
    expect(secret).toMatch(/^rg_[\w-]{43}$/);
    expect((await call('GET', '/api/v1/deployments', secret)).status).toBe(200);

    const listed = await call('GET', '/api/v1/tokens', tokens.admin);
    const text = JSON.stringify(listed.body);
    expect(text).toContain('"name":"ci"');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('hash');
    const stored = await testStore.store.db.collection('api_tokens').find({}).toArray();
    expect(JSON.stringify(stored)).not.toContain(secret);

    expect(
      (await call('DELETE', `/api/v1/tokens/${String(created.body.id)}`, tokens.admin)).status,
    ).toBe(204);
    expect((await call('GET', '/api/v1/deployments', secret)).status).toBe(401);
    expect(
      (await call('DELETE', `/api/v1/tokens/${String(created.body.id)}`, tokens.admin)).status,
    ).toBe(404);
  });

  it('refuses a token with an unknown role, naming the field', async () => {
    const refused = await call('POST', '/api/v1/tokens', tokens.admin, { name: 'x', role: 'root' });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toContain('role');
  });
});

describe('the audit', () => {
  it('records every write with who, what, when and how it ended; a release action on its Deployment', async () => {
    const { store } = testStore;
    const appRecord = await store.applications.create(
      ApplicationInput.parse({
        name: 'audited',
        deploy_path: '/srv/x',
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
      }),
    );
    const deployment: Deployment = await store.deployments.create({
      app_name: 'audited',
      app_id: appRecord.id,
      status: 'deploying',
      package_version: 'v2',
      gray_machine_id: 'm1',
      platform: 'local',
      previous_version: 'v1',
      node_deployments: [],
    });
    const before = Date.now();
    const ci = await tokenFor(store, 'deployer', 'ci');
    const paused = await withToken(app, ci).request(`/api/v1/deployments/${deployment.id}/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requested_by: 'alice', reason: 'checking the dashboards' }),
    });
    expect(paused.status).toBe(202);
    expect(signals.at(-1)).toEqual({ action: 'pause', requested_by: 'ci for alice' });
    expect((await store.deployments.get(deployment.id)).actions).toEqual([
      {
        action: 'pause',
        by: 'ci for alice',
        at: expect.any(Number) as number,
        reason: 'checking the dashboards',
      },
    ]);
    // A write the handler refuses is recorded too, with its status; a read is not.
    await call('POST', '/api/v1/applications', tokens.admin, { name: 'Not A Slug' });
    await call('GET', '/api/v1/applications', tokens.admin);

    const audit = await call('GET', '/api/v1/audit?limit=5', tokens.admin);
    const entries = audit.body.items as {
      actor: string;
      method: string;
      path: string;
      status: number;
      at: number;
    }[];
    expect(entries[0]).toMatchObject({
      actor: 'test-admin',
      method: 'POST',
      path: '/api/v1/applications',
      status: 422,
    });
    expect(entries[1]).toMatchObject({
      actor: 'ci',
      role: 'deployer',
      method: 'POST',
      path: `/api/v1/deployments/${deployment.id}/pause`,
      status: 202,
    });
    expect(entries[1]!.at).toBeGreaterThanOrEqual(before);
    expect(entries.some((entry) => entry.method === 'GET')).toBe(false);
  });
});

describe("a token's last use", () => {
  /** A client of the test's database that reports the updates each token's document gets. */
  function watchedDb() {
    const client = new MongoClient(testStore.uri, { monitorCommands: true });
    const updatesOf = new Map<string, number[]>();
    client.on('commandStarted', (event) => {
      if (event.commandName !== 'update' || event.command.update !== 'api_tokens') return;
      for (const update of event.command.updates as { q: { _id: string }; u: Document }[]) {
        const written = (update.u as { $set: { last_used_at: number } }).$set.last_used_at;
        updatesOf.set(update.q._id, [...(updatesOf.get(update.q._id) ?? []), written]);
      }
    });
    return { client, db: client.db(testStore.dbName), updatesOf };
  }

  it('is written once a minute however many requests come, and again after the minute', async () => {
    const watched = watchedDb();
    try {
      let now = Date.now();
      const clocked = new TokenRepository(watched.db, { clock: () => now });
      const clockedApp = createApp({
        store: { ...testStore.store, tokens: clocked },
        temporal: { check: () => Promise.resolve(true) },
        releases,
        logger: createLogger('api', 'silent'),
      });
      const viewer = await clocked.create({ name: 'busy-viewer', role: 'viewer' }, 'test');
      const admin = await clocked.create({ name: 'clocked-admin', role: 'admin' }, 'test');
      const asViewer = withToken(clockedApp, viewer.token);
      const lastUsed = async () => {
        const listed = await withToken(clockedApp, admin.token).request('/api/v1/tokens');
        const { items } = (await listed.json()) as { items: ApiToken[] };
        return items.find((token) => token.id === viewer.id)?.last_used_at;
      };
      expect(await lastUsed()).toBeUndefined();

      // A burst of concurrent requests, then more over the next half minute.
      const firstUse = now;
      const burst = await Promise.all(
        Array.from({ length: 20 }, async () => await asViewer.request('/api/v1/deployments')),
      );
      expect(burst.map((response) => response.status)).toEqual(Array(20).fill(200));
      for (let second = 1; second <= 30; second += 3) {
        now = firstUse + second * 1000;
        expect((await asViewer.request('/api/v1/applications')).status).toBe(200);
      }
      await vi.waitFor(async () => expect(await lastUsed()).toBe(firstUse));
      expect(watched.updatesOf.get(viewer.id)).toEqual([firstUse]);

      // A minute after the last write, the next request writes again.
      const laterUse = firstUse + 60_000;
      now = laterUse;
      expect((await asViewer.request('/api/v1/deployments')).status).toBe(200);
      await vi.waitFor(async () => expect(await lastUsed()).toBe(laterUse));
      expect(watched.updatesOf.get(viewer.id)).toEqual([firstUse, laterUse]);
    } finally {
      await watched.client.close();
    }
  });

  it('is one write for concurrent calls, and none from another process once it is recent', async () => {
    let now = Date.now();
    const tokens = new TokenRepository(testStore.store.db, { clock: () => now });
    const created = await tokens.create({ name: 'concurrent', role: 'viewer' }, 'test');
    const token = (await tokens.authenticate(created.token))!;
    const wrote = await Promise.all(Array.from({ length: 10 }, () => tokens.recordUse(token)));
    expect(wrote.filter(Boolean)).toHaveLength(1);

    // Another api process (its clock a millisecond ahead, to tell its writes apart) skips a
    // token it reads as used within the minute; one it read before a newer write lands is
    // left alone by the conditional update.
    const otherProcess = new TokenRepository(testStore.store.db, { clock: () => now + 1 });
    const seen = (await otherProcess.authenticate(created.token))!;
    expect(seen.last_used_at).toBe(now);
    expect(await otherProcess.recordUse(seen)).toBe(false);
    now += 60_000;
    const readBeforeTheWrite = (await otherProcess.authenticate(created.token))!;
    expect(await tokens.recordUse(token)).toBe(true);
    expect(await otherProcess.recordUse(readBeforeTheWrite)).toBe(false);
    expect((await tokens.authenticate(created.token))?.last_used_at).toBe(now);
  });

  it('neither delays nor fails the request when its write hangs or fails; the failure is logged', async () => {
    let failWrite: (error: Error) => void = () => {};
    const pendingWrite = new Promise<boolean>((_, reject) => {
      failWrite = reject;
    });
    const failing = new (class extends TokenRepository {
      override recordUse(): Promise<boolean> {
        return pendingWrite;
      }
    })(testStore.store.db);
    const logLines: string[] = [];
    const failingApp = createApp({
      store: { ...testStore.store, tokens: failing },
      temporal: { check: () => Promise.resolve(true) },
      releases,
      logger: pino({ level: 'error' }, { write: (line: string) => void logLines.push(line) }),
    });
    const answered = await withToken(failingApp, tokens.viewer).request('/api/v1/deployments');
    expect(answered.status).toBe(200);
    failWrite(new Error('mongo is down'));
    await vi.waitFor(() => expect(logLines.join('')).toContain('token last use not recorded'));
    expect(logLines.join('')).toContain('mongo is down');
  });
});
