import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashToken } from '../../activities/db/tokens';
import { createLogger } from '../../activities/logger';
import { createApp } from '../../api/app';
import { runCli } from '../../cli/run';
import { tokenFor } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';
import { serveHttp, type HttpApi } from '../support/http-api';

/**
 * Tokens over real HTTP and FerretDB (issue 15): an expired token is refused with a 401 that
 * says so; `relguard token list` shows each token's role, creation, last use and expiry and
 * never a secret; `relguard token revoke` ends a token at once.
 */
let testStore: TestStore;
let api: HttpApi;
let admin: string;

beforeAll(async () => {
  testStore = await startTestStore();
  api = await serveHttp(
    createApp({
      store: testStore.store,
      temporal: { check: () => Promise.resolve(true) },
      releases: releasesNotUsedHere,
      logger: createLogger('api', 'silent'),
    }),
  );
  admin = await tokenFor(testStore.store, 'admin', 'lifecycle-admin');
});

afterAll(async () => {
  await api?.close();
  await testStore?.close();
});

/** The CLI run in this process against the api over HTTP, with `token`. */
async function cli(argv: string[], token = admin) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { RELGUARD_API_URL: api.url, RELGUARD_TOKEN: token },
    cwd: process.cwd(),
    io: {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      readStdin: () => Promise.resolve(''),
    },
  });
  return { code, stdout, stderr };
}

/** A token's last use as GET /api/v1/tokens lists it now. */
async function lastUsedNow(id: string): Promise<number | undefined> {
  const listed = (await api.call('GET', '/api/v1/tokens', admin)).json() as {
    items: { id: string; last_used_at?: number }[];
  };
  const token = listed.items.find((item) => item.id === id);
  if (token === undefined) throw new Error(`token ${id} is not listed`);
  return token.last_used_at;
}

/** A token's last use, once its (fire-and-forget) record is written: polled, for 10 s at most. */
async function lastUsed(id: string): Promise<number> {
  return await vi.waitFor(
    async () => {
      const at = await lastUsedNow(id);
      if (at === undefined) throw new Error(`token ${id} has no recorded use yet`);
      return at;
    },
    { timeout: 10_000, interval: 50 },
  );
}

describe('expiry', () => {
  it('a token past its expiry is refused with a 401 that says it expired', async () => {
    // Made two minutes ago to last one: what the api would have made then with expires_in 60.
    const expired = await testStore.store.tokens.create(
      { name: 'short-lived', role: 'admin', expires_in: 60 },
      'test',
      Date.now() - 120_000,
    );
    const answer = await api.call('GET', '/api/v1/whoami', expired.token);
    expect(answer.status).toBe(401);
    expect(answer.json()).toMatchObject({
      error: { code: 'unauthorized', details: { token: 'short-lived' } },
    });
    expect((answer.json() as { error: { message: string } }).error.message).toMatch(
      /^the bearer token short-lived expired at \d{4}-\d\d-\d\dT/,
    );
    // Refused for every route, and its use is not recorded.
    expect((await api.call('GET', '/api/v1/applications', expired.token)).status).toBe(401);
    // The use of a valid token, made after, is recorded (off the request's path): once it is
    // there, any write the refused requests would have caused has been made too.
    const control = await testStore.store.tokens.create(
      { name: 'control', role: 'viewer' },
      'test',
    );
    const controlUsedFrom = Date.now();
    expect((await api.call('GET', '/api/v1/whoami', control.token)).status).toBe(200);
    const used = await lastUsed(control.id);
    expect(used).toBeGreaterThanOrEqual(controlUsedFrom);
    expect(await lastUsedNow(expired.id)).toBeUndefined();
  });

  it('a token made through the api with expires_in works until then and lists its expiry', async () => {
    const before = Date.now();
    const created = await api.call('POST', '/api/v1/tokens', admin, {
      name: 'for-a-day',
      role: 'viewer',
      expires_in: '1d',
    });
    expect(created.status, created.text).toBe(201);
    const body = created.json() as { token: string; expires_at: number; createdTime: number };
    expect(body.expires_at - body.createdTime).toBe(86_400_000);
    expect(body.createdTime).toBeGreaterThanOrEqual(before);
    const usedFrom = Date.now();
    expect((await api.call('GET', '/api/v1/whoami', body.token)).status).toBe(200);
    expect(await lastUsed((created.json() as { id: string }).id)).toBeGreaterThanOrEqual(usedFrom);
  });

  it('a decimal expires_in gives a whole-millisecond expiry, rounded up to the second', async () => {
    const cases: [string, number][] = [
      // 3600.00036 s: its expiry would fall between two milliseconds.
      ['1.0000001h', 3601],
      ['90.4', 91],
      // 3960.0000000000005 s in binary: no second is added for that.
      ['1.1h', 3960],
      ['1.5m', 90],
    ];
    for (const [expiresIn, seconds] of cases) {
      const created = await api.call('POST', '/api/v1/tokens', admin, {
        name: `decimal-${expiresIn}`,
        role: 'viewer',
        expires_in: expiresIn,
      });
      expect(created.status, created.text).toBe(201);
      const body = created.json() as { id: string; expires_at: number; createdTime: number };
      expect(Number.isInteger(body.expires_at), expiresIn).toBe(true);
      expect(body.expires_at - body.createdTime, expiresIn).toBe(seconds * 1000);
      // What is stored and listed is a valid ApiToken (expires_at is an integer).
      const listed = await api.call('GET', '/api/v1/tokens', admin);
      expect(listed.status, listed.text).toBe(200);
      expect(listed.text).toContain(`"expires_at":${body.expires_at}`);
    }
  });

  it('refuses an expiry in the past, an unreadable one, and both kinds at once (422 naming the field)', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ expires_at: Date.now() - 1000 }, 'expires_at'],
      [{ expires_in: 'soon' }, 'expires_in'],
      [{ expires_in: '30s' }, 'expires_in'],
      [{ expires_in: '1h', expires_at: Date.now() + 3_600_000 }, 'expires_at'],
    ];
    for (const [expiry, field] of cases) {
      const answer = await api.call('POST', '/api/v1/tokens', admin, {
        name: 'refused',
        role: 'viewer',
        ...expiry,
      });
      expect(answer.status, JSON.stringify(expiry)).toBe(422);
      expect(answer.text).toContain(field);
    }
    const listed = (await api.call('GET', '/api/v1/tokens', admin)).json() as {
      items: { name: string }[];
    };
    expect(listed.items.map((token) => token.name)).not.toContain('refused');
  });
});

describe('relguard token list, create and revoke', () => {
  it('list shows name, role, created, last used and expiry, and never a secret or its hash', async () => {
    const made = await cli([
      'token',
      'create',
      'ci-bot',
      '--role',
      'deployer',
      '--expires-in',
      '90d',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const secret = made.stdout.trim();
    expect(secret).toMatch(/^rg_/);
    expect(made.stderr).toContain('made the deployer token ci-bot');

    // Before its first use the list says never; after, it shows when (written off the request).
    const unused = await cli(['token', 'list']);
    expect(unused.stdout).toMatch(/^ci-bot\s+deployer\s+\S+ \S+\s+never\s+\d{4}-/m);
    expect((await api.call('GET', '/api/v1/whoami', secret)).status).toBe(200);
    await vi.waitFor(
      async () => {
        const listed = await cli(['token', 'list']);
        expect(listed.stdout).toMatch(
          /^ci-bot\s+deployer\s+\S+ \S+\s+\d{4}-\d\d-\d\d \S+Z\s+\d{4}-/m,
        );
      },
      { timeout: 10_000, interval: 100 },
    );

    const listed = await cli(['token', 'list']);
    expect(listed.stdout.split('\n')[0]).toMatch(
      /^NAME\s+ROLE\s+CREATED\s+LAST USED\s+EXPIRES\s+ID$/,
    );
    const json = await cli(['--json', 'token', 'list']);
    const raw = await api.call('GET', '/api/v1/tokens', admin);
    for (const text of [listed.stdout, json.stdout, raw.text]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hashToken(secret));
      expect(text).not.toContain(hashToken(admin));
    }
  });

  it('revoke by name ends the token at once: 401 afterwards', async () => {
    const victim = await tokenFor(testStore.store, 'viewer', 'leaked-laptop');
    expect((await api.call('GET', '/api/v1/whoami', victim)).status).toBe(200);
    const revoked = await cli(['token', 'revoke', 'leaked-laptop']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('revoked viewer token leaked-laptop');
    const after = await api.call('GET', '/api/v1/whoami', victim);
    expect(after.status).toBe(401);
    expect(after.text).toContain('the bearer token is not valid');
  });

  it('a name two tokens share is not guessed: the CLI names their ids and revokes neither', async () => {
    const first = await tokenFor(testStore.store, 'viewer', 'twin');
    const second = await tokenFor(testStore.store, 'viewer', 'twin');
    const refused = await cli(['token', 'revoke', 'twin']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('2 tokens are named "twin"');
    for (const token of [first, second]) {
      expect((await api.call('GET', '/api/v1/whoami', token)).status).toBe(200);
    }
  });

  it('only an admin may list or revoke: a deployer is refused with 403', async () => {
    const deployer = await tokenFor(testStore.store, 'deployer', 'not-admin');
    const listed = await cli(['token', 'list'], deployer);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain('needs the admin role');
    const revoked = await cli(['token', 'revoke', 'lifecycle-admin'], deployer);
    expect(revoked.code).toBe(2);
    expect((await api.call('GET', '/api/v1/whoami', admin)).status).toBe(200);
  });
});
