import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebhookDeliveryRepository } from '../../activities/db';
import { webhookDeliveryRetentionMs } from '../../activities/db/webhook-deliveries';
import { createLogger } from '../../activities/logger';
import { createApp } from '../../api/app';
import type { Releases } from '../../api/releases';
import { ApplicationInput } from '../../domain';
import { serveHttp, type HttpApi } from '../support/http-api';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';

/**
 * Webhook replay (issue 15), over real HTTP and FerretDB: a GitHub delivery captured on its way
 * (signed, so its signature checks out) and sent again starts no second build and no second
 * release, and is answered 200 `duplicate`, whether it comes after the first or beside it.
 * Delivery ids are kept 24 h.
 */
const SECRET = 'replay-hook-secret';
let testStore: TestStore;
let api: HttpApi;
const builds: string[] = [];
const releasesStarted: string[] = [];

const recorded: Partial<Releases> = {
  buildPackage(target, version) {
    builds.push(`${target.name}@${version}`);
    return Promise.resolve({ workflowId: `package-${target.name}-${version}` });
  },
  start(deployment) {
    releasesStarted.push(`${deployment.app_name}@${deployment.package_version}`);
    return Promise.resolve({ workflowId: `release-${deployment.app_name}-${deployment.id}` });
  },
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

const repository = {
  id: 1,
  name: 'shop',
  full_name: 'acme/shop',
  html_url: 'https://github.com/acme/shop',
  clone_url: 'https://github.com/acme/shop.git',
};

/** A signed delivery as GitHub sends it: the exact bytes and headers a replay repeats. */
function capturedDelivery(tag: string) {
  const body = JSON.stringify({
    ref: `refs/tags/${tag}`,
    after: 'b'.repeat(40),
    deleted: false,
    repository,
    sender: { login: 'alice' },
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      'user-agent': 'GitHub-Hookshot/test',
    },
  };
}

const send = (delivery: ReturnType<typeof capturedDelivery>) =>
  api.call('POST', '/api/v1/webhooks/github', undefined, delivery.body, delivery.headers);

beforeAll(async () => {
  testStore = await startTestStore();
  await testStore.store.applications.create(
    ApplicationInput.parse({
      name: 'shop',
      repo: 'https://github.com/acme/shop.git',
      deploy_path: '/srv/shop',
      start_cmd: 'node main.js',
      machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
      auto_release: true,
    }),
  );
  api = await serveHttp(
    createApp({
      store: testStore.store,
      temporal: { check: () => Promise.resolve(true) },
      releases,
      logger: createLogger('api', 'silent'),
      githubWebhookSecret: SECRET,
    }),
  );
});
afterAll(async () => {
  await api?.close();
  await testStore?.close();
});
beforeEach(() => {
  builds.length = 0;
  releasesStarted.length = 0;
});

describe('a replayed GitHub delivery', () => {
  it('sent again after the first: 200 duplicate, no second release or build', async () => {
    const captured = capturedDelivery('v1.0.0');
    const first = await send(captured);
    expect(first.status, first.text).toBe(202);
    expect(releasesStarted).toEqual(['shop@v1.0.0']);

    for (let replay = 0; replay < 3; replay++) {
      const again = await send(captured);
      expect(again.status).toBe(200);
      expect(again.json()).toEqual({
        delivery: captured.headers['x-github-delivery'],
        duplicate: true,
      });
    }
    expect(releasesStarted).toEqual(['shop@v1.0.0']);
    expect(builds).toEqual([]);
  });

  it('sent ten times at once: one is handled, nine are duplicates, one thing started', async () => {
    const captured = capturedDelivery('v1.1.0');
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(captured)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([
      200, 200, 200, 200, 200, 200, 200, 200, 200, 202,
    ]);
    // The release of v1.0.0 still holds the slot: the one handled copy builds the package.
    expect([...releasesStarted, ...builds]).toEqual(['shop@v1.1.0']);
  });

  it('a replay whose body is changed fails the signature (401) and starts nothing', async () => {
    const captured = capturedDelivery('v1.2.0');
    const tampered = { ...captured, body: captured.body.replace('v1.2.0', 'v0.0.1') };
    const answer = await send(tampered);
    expect(answer.status).toBe(401);
    expect(releasesStarted).toEqual([]);
  });
});

describe('how long a delivery id is kept', () => {
  it('24 hours: a replay within is a duplicate, the id is forgotten after', async () => {
    const captured = capturedDelivery('v2.0.0');
    expect((await send(captured)).status).toBe(202);
    const id = captured.headers['x-github-delivery'];
    const raw = await testStore.store.db
      .collection<{ delivery_id: string; received_at: number; expires_at: Date }>(
        'webhook_deliveries',
      )
      .findOne({ delivery_id: id });
    expect(raw?.expires_at).toBeInstanceOf(Date);
    expect(raw!.expires_at.getTime() - raw!.received_at).toBe(webhookDeliveryRetentionMs);

    // The same store, read as it will be 23 h and 24 h later.
    const at = (ms: number) =>
      new WebhookDeliveryRepository(testStore.store.db, { clock: () => raw!.received_at + ms });
    const delivery = { delivery_id: id, source: 'github', event: 'push', received_at: 0 };
    expect(await at(23 * 3600_000).claim(delivery)).toBe(false);
    expect(await at(24 * 3600_000 + 1).claim(delivery)).toBe(true);
  });
});
