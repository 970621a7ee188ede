import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { createApp, type RelguardApp } from '../../api/app';
import type { Releases } from '../../api/releases';
import { ApplicationInput, FailureType, RelguardError, type Application } from '../../domain';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';

/**
 * GitHub's webhook over real storage: the signature, the events, which applications a
 * repository's tag starts, and redelivery. Starting workflows is recorded here; the release
 * and the package build run for real in test/integration/release.test.ts.
 */
const SECRET = 'hook-secret-for-tests';
let testStore: TestStore;
let app: RelguardApp;
let apps: Record<string, Application>;
const builds: { app: string; version: string; expectedSha?: string }[] = [];
const releasesStarted: string[] = [];
let failNextBuild = false;

const recorded: Partial<Releases> = {
  buildPackage(target, version, options = {}) {
    if (failNextBuild) {
      failNextBuild = false;
      return Promise.reject(new RelguardError(FailureType.Unavailable, 'Temporal is unavailable'));
    }
    builds.push({
      app: target.name,
      version,
      ...(options.expectedSha === undefined ? {} : { expectedSha: options.expectedSha }),
    });
    return Promise.resolve({ workflowId: `package-${target.name}-${version}` });
  },
  start(deployment) {
    releasesStarted.push(deployment.id);
    return Promise.resolve({ workflowId: `release-${deployment.app_name}-${deployment.id}` });
  },
  // The release the test started is still running when the next one is asked for.
  runState: () => Promise.resolve({ state: 'running' as const }),
  progress: () => Promise.resolve(undefined),
  workflowUrl: (workflowId) => `http://temporal.test/workflows/${workflowId}`,
};
const releases: Releases = new Proxy(releasesNotUsedHere, {
  get(target, method, receiver) {
    return method in recorded
      ? recorded[method as keyof Releases]
      : (Reflect.get(target, method, receiver) as unknown);
  },
});

function apiWith(secret: string | undefined): RelguardApp {
  return createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'silent'),
    ...(secret === undefined ? {} : { githubWebhookSecret: secret }),
  });
}

const sign = (body: string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

interface Delivery {
  event: string;
  payload?: unknown;
  body?: string;
  delivery?: string;
  signature?: string | null;
  contentType?: string;
}

async function deliver(options: Delivery, api = app) {
  const body = options.body ?? JSON.stringify(options.payload ?? {});
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/json',
    'x-github-event': options.event,
    'x-github-delivery': options.delivery ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/test',
  };
  if (options.signature !== null) headers['x-hub-signature-256'] = options.signature ?? sign(body);
  const response = await api.request('/api/v1/webhooks/github', {
    method: 'POST',
    headers,
    body,
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

const repository = (fullName: string, host = 'github.com') => ({
  id: 1,
  name: fullName.split('/')[1],
  full_name: fullName,
  html_url: `https://${host}/${fullName}`,
  clone_url: `https://${host}/${fullName}.git`,
  ssh_url: `git@${host}:${fullName}.git`,
  git_url: `git://${host}/${fullName}.git`,
  url: `https://api.${host}/repos/${fullName}`,
});

const tagPush = (fullName: string, tag: string, extra: Record<string, unknown> = {}) => ({
  ref: `refs/tags/${tag}`,
  before: '0000000000000000000000000000000000000000',
  after: 'a'.repeat(40),
  created: true,
  deleted: false,
  repository: repository(fullName),
  pusher: { name: 'alice', email: 'alice@example.com' },
  sender: { login: 'alice' },
  ...extra,
});

const tagCreate = (fullName: string, tag: string) => ({
  ref: tag,
  ref_type: 'tag',
  master_branch: 'main',
  repository: repository(fullName),
  sender: { login: 'bob' },
});

beforeAll(async () => {
  testStore = await startTestStore();
  app = apiWith(SECRET);
  const input = (name: string, repo: string, extra: Record<string, unknown> = {}) =>
    ApplicationInput.parse({
      name,
      repo,
      deploy_path: '/srv/x',
      start_cmd: 'node main.js',
      machines: [
        { id: 'm1', host: '127.0.0.1', port: 4001 },
        { id: 'm2', host: '127.0.0.1', port: 4002 },
      ],
      ...extra,
    });
  const { applications } = testStore.store;
  apps = {
    shop: await applications.create(input('shop', 'https://github.com/acme/shop.git')),
    // The same repository written another way, in another case: GitHub's names ignore case.
    shopMirror: await applications.create(input('shop-mirror', 'ssh://git@github.com/ACME/Shop')),
    // Same owner/name on another host, or as a local path: not this repository.
    enterprise: await applications.create(input('ghe', 'https://ghe.example.com/acme/shop.git')),
    local: await applications.create(input('local', '/srv/git/acme/shop')),
    auto: await applications.create(
      input('billing', 'git@github.com:acme/billing.git', { auto_release: true }),
    ),
    ledger: await applications.create(
      input('ledger', 'https://github.com/acme/ledger.git', { auto_release: true }),
    ),
  };
});
afterAll(async () => {
  await testStore?.close();
});
beforeEach(() => {
  builds.length = 0;
  releasesStarted.length = 0;
  failNextBuild = false;
});

describe('POST /api/v1/webhooks/github: the signature', () => {
  it('accepts a delivery signed with the secret, with no bearer token', async () => {
    const { status, body } = await deliver({ event: 'ping', payload: { zen: 'Keep it simple.' } });
    expect(status).toBe(200);
    expect(body).toEqual({ pong: true, zen: 'Keep it simple.' });
  });

  it('refuses a missing, malformed or wrong signature with 401 and the error envelope', async () => {
    const payload = tagPush('acme/shop', 'v9.0.0');
    const body = JSON.stringify(payload);
    const cases: [string | null, string][] = [
      [null, 'missing X-Hub-Signature-256'],
      ['', 'missing X-Hub-Signature-256'],
      [`sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`, 'malformed'],
      ['sha256=not-hex', 'malformed'],
      [sign(body).slice(0, -2), 'malformed'],
      [sign(body, 'another-secret'), 'does not match'],
    ];
    for (const [signature, message] of cases) {
      const response = await deliver({ event: 'push', body, signature });
      expect(response.status, String(signature)).toBe(401);
      expect(response.body).toMatchObject({
        error: { code: 'unauthorized', message: expect.stringContaining(message) as string },
      });
      expect(response.text).not.toContain(SECRET);
    }
    expect(builds).toEqual([]);
  });

  it('refuses a replayed body whose signature was changed', async () => {
    const body = JSON.stringify(tagPush('acme/shop', 'v9.1.0'));
    const signature = sign(body);
    const flipped = signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
    const replay = await deliver({ event: 'push', body, signature: flipped });
    expect(replay.status).toBe(401);
    // The same signature over a body that was changed is refused as well.
    const tampered = body.replace('v9.1.0', 'v9.1.1');
    expect((await deliver({ event: 'push', body: tampered, signature })).status).toBe(401);
    expect(builds).toEqual([]);
  });

  it('answers 503 naming GITHUB_WEBHOOK_SECRET when no secret is configured', async () => {
    const unconfigured = apiWith(undefined);
    const { status, body } = await deliver({ event: 'ping', payload: {} }, unconfigured);
    expect(status).toBe(503);
    expect(JSON.stringify(body)).toContain('GITHUB_WEBHOOK_SECRET');
    // Unsigned, too: there is no way in without a secret.
    expect((await deliver({ event: 'ping', signature: null }, unconfigured)).status).toBe(503);
  });

  it('is 400 for a signed body that is not JSON, naming form encoding when that is why', async () => {
    const notJson = await deliver({ event: 'push', body: '{"ref": ' });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { message: 'the body is not valid JSON' } });
    const form = await deliver({
      event: 'push',
      body: `payload=${encodeURIComponent(JSON.stringify(tagPush('acme/shop', 'v1')))}`,
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(400);
    expect(JSON.stringify(form.body)).toContain('application/json');
  });

  it('is 422 for a signed body that is JSON but no object, whatever the event', async () => {
    // schemathesis' negative mode sent a number as an unknown event, and the api once ignored
    // it (202) as it ignores other events, or answered a ping (200).
    for (const event of ['ping', 'push', 'workflow_run']) {
      for (const body of ['-1.06e16', '[]', 'null', '"push"']) {
        const { status, body: refusal } = await deliver({ event, body });
        expect(status, `${event} ${body}`).toBe(422);
        expect(refusal).toMatchObject({
          error: { code: 'validation_failed', details: [{ field: '(body)' }] },
        });
      }
    }
  });

  it('is 422 naming the field for a signed tag event that lacks its repository', async () => {
    const { status, body } = await deliver({ event: 'push', payload: { ref: 'refs/tags/v1' } });
    expect(status).toBe(422);
    expect(JSON.stringify(body)).toContain('repository');
  });
});

describe('POST /api/v1/webhooks/github: events', () => {
  it('builds the tag of every application of the repository, without a release', async () => {
    const delivery = randomUUID();
    const { status, body } = await deliver({
      event: 'push',
      delivery,
      payload: tagPush('acme/shop', 'v1.2.0'),
    });
    expect(status).toBe(202);
    expect(body).toEqual({
      delivery,
      tag: 'v1.2.0',
      started: [
        { app: 'shop', package_workflow_id: 'package-shop-v1.2.0' },
        { app: 'shop-mirror', package_workflow_id: 'package-shop-mirror-v1.2.0' },
      ],
      ignored: [],
    });
    // The push's SHA goes with each build: the build refuses the tag if it is elsewhere.
    expect(builds).toEqual([
      { app: 'shop', version: 'v1.2.0', expectedSha: 'a'.repeat(40) },
      { app: 'shop-mirror', version: 'v1.2.0', expectedSha: 'a'.repeat(40) },
    ]);
    expect(releasesStarted).toEqual([]);
    expect(await testStore.store.deployments.list({ app_id: apps.shop!.id })).toEqual([]);
  });

  it('releases the tag of an auto_release application (the release builds it), and reports a refusal', async () => {
    // GitHub announces a pushed tag twice. The create names no commit: it starts nothing, so
    // that the push, which does, is the one whose SHA the build checks.
    const created = await deliver({
      event: 'create',
      payload: tagCreate('acme/billing', 'v2.0.0'),
    });
    expect(created.status).toBe(202);
    expect(created.body.ignored).toContain('its push event');
    expect(releasesStarted).toEqual([]);
    expect(builds).toEqual([]);

    const first = await deliver({ event: 'push', payload: tagPush('acme/billing', 'v2.0.0') });
    expect(first.status).toBe(202);
    const [entry] = first.body.started as {
      app: string;
      package_workflow_id?: string;
      release: { deployment_id: string; workflow_id: string; status: string };
    }[];
    expect(entry).toMatchObject({ app: 'billing', release: { status: 'pending' } });
    expect(entry?.package_workflow_id).toBeUndefined();
    expect(builds).toEqual([]);
    const deploymentId = entry!.release.deployment_id;
    expect(entry!.release.workflow_id).toBe(`release-billing-${deploymentId}`);
    expect(releasesStarted).toEqual([deploymentId]);
    const stored = await testStore.store.deployments.get(deploymentId);
    expect(stored).toMatchObject({
      app_id: apps.auto!.id,
      package_version: 'v2.0.0',
      status: 'pending',
      gray_machine_id: 'm1',
    });
    // Who started it, on the Deployment: the GitHub user whose push it was.
    expect(stored.actions).toEqual([
      {
        action: 'start',
        by: expect.stringMatching(/^github:\S+$/) as string,
        at: expect.any(Number) as number,
      },
    ]);
    expect((await testStore.store.applications.get(apps.auto!.id)).active_deployment_id).toBe(
      deploymentId,
    );

    // The same tag pushed again while its release runs: the release is refused, the build joined.
    const second = await deliver({ event: 'push', payload: tagPush('acme/billing', 'v2.0.0') });
    expect(second.status).toBe(202);
    expect(second.body.started).toEqual([
      {
        app: 'billing',
        package_workflow_id: 'package-billing-v2.0.0',
        release: {
          refused: expect.stringContaining('billing') as string,
          active_deployment_id: deploymentId,
        },
      },
    ]);
    expect(releasesStarted).toEqual([deploymentId]);
    expect(await testStore.store.deployments.list({ app_id: apps.auto!.id })).toHaveLength(1);
  });

  it('starts nothing for a repository no application uses', async () => {
    const { status, body } = await deliver({
      event: 'push',
      payload: tagPush('acme/unknown', 'v1.0.0'),
    });
    expect(status).toBe(202);
    expect(body).toMatchObject({
      started: [],
      ignored: [{ reason: 'no application uses acme/unknown' }],
    });
    expect(builds).toEqual([]);
  });

  it('builds nothing for a tag that is no version, and says why', async () => {
    const { status, body } = await deliver({
      event: 'push',
      payload: tagPush('acme/shop', 'release/2.0'),
    });
    expect(status).toBe(202);
    expect(body.ignored).toBe(
      'tag "release/2.0" is no version relguard releases: it must contain only letters, digits, ".", "_", "+" and "-", not "/"',
    );
    expect(builds).toEqual([]);
  });

  it('ignores branch pushes, deleted tags, tags that are no version, created branches and other events', async () => {
    const cases: [Delivery, string][] = [
      [
        { event: 'push', payload: tagPush('acme/shop', 'x', { ref: 'refs/heads/main' }) },
        'a push to refs/heads/main, not a tag',
      ],
      [
        { event: 'push', payload: tagPush('acme/shop', 'v1.3.0', { deleted: true }) },
        'tag v1.3.0 was deleted',
      ],
      [
        { event: 'create', payload: { ...tagCreate('acme/shop', 'main'), ref_type: 'branch' } },
        'a branch was created, not a tag',
      ],
      [{ event: 'issues', payload: { action: 'opened' } }, 'the issues event starts nothing'],
      // Valid git tags, but no version: they would reach workflow ids, keys and folders.
      [
        { event: 'push', payload: tagPush('acme/shop', '-rf') },
        'tag "-rf" is no version relguard releases: it must start with a letter or a digit',
      ],
    ];
    for (const [delivery, reason] of cases) {
      const { status, body } = await deliver(delivery);
      expect(status, reason).toBe(202);
      expect(body.ignored).toBe(reason);
    }
    expect(builds).toEqual([]);
  });
});

describe('POST /api/v1/webhooks/github: the SHA a push announces', () => {
  const commit = 'c0ffee'.repeat(6) + 'c0ff';
  const tagObject = 'abcdef'.repeat(6) + 'abcd';

  it("passes the tag's commit to the build: head_commit for an annotated tag, else after", async () => {
    await deliver({
      event: 'push',
      payload: tagPush('acme/shop', 'v7.0.0', {
        after: tagObject,
        head_commit: { id: commit.toUpperCase(), message: 'release' },
      }),
    });
    await deliver({
      event: 'push',
      payload: tagPush('acme/shop', 'v7.0.1', { after: tagObject, head_commit: null }),
    });
    // A create event names no SHA: it starts no build at all.
    await deliver({ event: 'create', payload: tagCreate('acme/shop', 'v7.0.2') });
    // Something that is no SHA is not passed on.
    await deliver({
      event: 'push',
      payload: tagPush('acme/shop', 'v7.0.3', { after: 'not-a-sha', head_commit: null }),
    });

    expect(builds.filter((build) => build.app === 'shop')).toEqual([
      { app: 'shop', version: 'v7.0.0', expectedSha: commit },
      { app: 'shop', version: 'v7.0.1', expectedSha: tagObject },
      { app: 'shop', version: 'v7.0.3' },
    ]);
  });

  it("records the push's SHA on the release it starts, for the release's own build", async () => {
    const { status, body } = await deliver({
      event: 'push',
      payload: tagPush('acme/ledger', 'v1.0.0', { head_commit: { id: commit } }),
    });
    expect(status).toBe(202);
    const [entry] = body.started as { release: { deployment_id: string } }[];
    const deployment = await testStore.store.deployments.get(entry!.release.deployment_id);
    expect(deployment).toMatchObject({ package_version: 'v1.0.0', expected_sha: commit });
    expect(builds).toEqual([]);
  });
});

describe('POST /api/v1/webhooks/github: redelivery', () => {
  it('starts nothing twice for the same delivery id', async () => {
    const delivery = randomUUID();
    const payload = tagPush('acme/shop', 'v1.4.0');
    expect((await deliver({ event: 'push', delivery, payload })).status).toBe(202);
    expect(builds).toHaveLength(2);
    const again = await deliver({ event: 'push', delivery, payload });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ delivery, duplicate: true });
    expect(builds).toHaveLength(2);
    expect(await testStore.store.webhookDeliveries.find('github', delivery)).toMatchObject({
      event: 'push',
    });
  });

  it('records a delivery only once its signature checks out', async () => {
    const delivery = randomUUID();
    const body = JSON.stringify(tagPush('acme/shop', 'v1.5.0'));
    const forged = await deliver({ event: 'push', delivery, body, signature: sign(body, 'x') });
    expect(forged.status).toBe(401);
    expect(await testStore.store.webhookDeliveries.find('github', delivery)).toBeUndefined();
    const genuine = await deliver({ event: 'push', delivery, body });
    expect(genuine.status).toBe(202);
    expect(builds).toHaveLength(2);
  });

  it('forgets a delivery that failed, so that its redelivery is handled', async () => {
    const delivery = randomUUID();
    const payload = tagPush('acme/shop', 'v1.6.0');
    failNextBuild = true;
    const failed = await deliver({ event: 'push', delivery, payload });
    expect(failed.status).toBe(503);
    expect(await testStore.store.webhookDeliveries.find('github', delivery)).toBeUndefined();
    const retried = await deliver({ event: 'push', delivery, payload });
    expect(retried.status).toBe(202);
    expect(builds).toHaveLength(2);
  });

  it('takes one of two copies of a delivery that arrive together', async () => {
    const delivery = randomUUID();
    const payload = tagPush('acme/shop', 'v1.7.0');
    const statuses = (
      await Promise.all([
        deliver({ event: 'push', delivery, payload }),
        deliver({ event: 'push', delivery, payload }),
      ])
    ).map((response) => response.status);
    expect(statuses.sort()).toEqual([200, 202]);
    expect(builds).toHaveLength(2);
  });
});
