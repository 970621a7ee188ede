import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { storeEnvChannels } from '../../activities/db';
import { createApp } from '../../api/app';
import type { ChannelView, Role } from '../../domain';
import { tokenFor } from '../support/api-token';
import { serveHttp, type HttpApi } from '../support/http-api';
import { startTestStore, type TestStore } from '../support/mongo';
import { recordingHealthWatchers } from '../support/releases';

/**
 * The channel store and its api, over real HTTP and FerretDB: an application naming a channel
 * the store lacks is refused when it is saved (422 naming rollback_policy.notify[i] and the
 * channel), a channel put through the api makes it acceptable, a used channel cannot be
 * deleted, NOTIFY_CHANNELS' channels cannot be overwritten, and no answer shows a channel's
 * URL path, query or secret.
 */
let testStore: TestStore;
let api: HttpApi;
const tokens = {} as Record<Role, string>;

const SLACK_TOKEN = 'T000AAAA1/B000BBBB2/slacktoken0123456789';
const SECRET = 'signing-secret-0123456789';

const shop = {
  name: 'shop',
  repo: 'file:///repos/shop',
  deploy_path: '/srv/shop',
  start_cmd: 'node main.js',
  machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
  rollback_policy: { notify: ['pager'] },
};

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

beforeAll(async () => {
  testStore = await startTestStore();
  // What the api does at start-up with its NOTIFY_CHANNELS (api/main.ts).
  await storeEnvChannels(
    testStore.store.notifyChannels,
    { oncall: { type: 'webhook', url: 'http://127.0.0.1:1/hooks/oncall?key=envkey42' } },
    createLogger('api', 'silent'),
  );
  api = await serveHttp(
    createApp({
      store: testStore.store,
      temporal: { check: () => Promise.resolve(true) },
      releases: recordingHealthWatchers().releases,
      logger: createLogger('api', 'silent'),
      envChannelNames: ['oncall'],
    }),
  );
  for (const role of ['viewer', 'deployer', 'admin'] as const) {
    tokens[role] = await tokenFor(testStore.store, role);
  }
});

afterAll(async () => {
  await api?.close();
  await testStore?.close();
});

describe('channels api', () => {
  let appId: string;

  it('refuses an application naming an unknown channel, on POST and on PUT', async () => {
    const created = await api.call('POST', '/api/v1/applications', tokens.admin, shop);
    expect(created.status, created.text).toBe(422);
    const body = created.json() as ErrorBody;
    expect(body.error.message).toContain('rollback_policy.notify[0]');
    expect(body.error.message).toContain('"pager"');
    // The channels there are, so that the caller can see a typo.
    expect(body.error.message).toContain('"oncall"');
    expect(body.error.details).toEqual([
      { field: 'rollback_policy.notify.0', message: expect.stringContaining('"pager"') as string },
    ]);
    expect(await testStore.store.applications.list()).toEqual([]);

    const known = await api.call('POST', '/api/v1/applications', tokens.admin, {
      ...shop,
      rollback_policy: { notify: ['oncall'] },
    });
    expect(known.status, known.text).toBe(201);
    appId = (known.json() as { id: string }).id;

    const put = await api.call('PUT', `/api/v1/applications/${appId}`, tokens.admin, {
      rollback_policy: { notify: ['oncall', 'pager'] },
    });
    expect(put.status, put.text).toBe(422);
    expect((put.json() as ErrorBody).error.message).toContain('rollback_policy.notify[1]');
    expect((put.json() as ErrorBody).error.message).toContain('"pager"');
    expect((await testStore.store.applications.get(appId)).rollback_policy.notify).toEqual([
      'oncall',
    ]);
  });

  it('a channel put through the api makes the same application save', async () => {
    const put = await api.call('PUT', '/api/v1/channels/pager', tokens.admin, {
      type: 'slack',
      url: `https://hooks.slack.example.com/services/${SLACK_TOKEN}?token=querysecret`,
      secret: SECRET,
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json()).toEqual({
      name: 'pager',
      type: 'slack',
      host: 'https://hooks.slack.example.com',
      secret_set: true,
      source: 'api',
      updated_at: expect.any(Number) as number,
    });

    const saved = await api.call('PUT', `/api/v1/applications/${appId}`, tokens.admin, {
      rollback_policy: { notify: ['oncall', 'pager'] },
    });
    expect(saved.status, saved.text).toBe(200);
    const other = await api.call('POST', '/api/v1/applications', tokens.admin, {
      ...shop,
      name: 'shop-2',
      machines: [{ id: 'm1', host: '127.0.0.1', port: 4002 }],
    });
    expect(other.status, other.text).toBe(201);
  });

  it('lists every channel to any role, never with its URL path, query or secret', async () => {
    const list = await api.call('GET', '/api/v1/channels', tokens.viewer);
    expect(list.status, list.text).toBe(200);
    const { channels } = list.json() as { channels: ChannelView[] };
    expect(channels.map(({ name, source, secret_set }) => ({ name, source, secret_set }))).toEqual([
      { name: 'oncall', source: 'env', secret_set: false },
      { name: 'pager', source: 'api', secret_set: true },
    ]);
    expect(channels[0]?.host).toBe('http://127.0.0.1:1');
    for (const secret of [SLACK_TOKEN, 'querysecret', SECRET, 'envkey42', '/hooks/', 'services']) {
      expect(list.text).not.toContain(secret);
    }
  });

  it('a viewer and a deployer cannot put or delete a channel', async () => {
    for (const role of ['viewer', 'deployer'] as const) {
      const put = await api.call('PUT', '/api/v1/channels/ops', tokens[role], {
        type: 'webhook',
        url: 'http://127.0.0.1:1/ops',
      });
      expect(put.status).toBe(403);
      const deleted = await api.call('DELETE', '/api/v1/channels/pager', tokens[role]);
      expect(deleted.status).toBe(403);
    }
    expect(await testStore.store.notifyChannels.find('ops')).toBeUndefined();
    const anonymous = await api.call('GET', '/api/v1/channels');
    expect(anonymous.status).toBe(401);
  });

  it('refuses to overwrite a NOTIFY_CHANNELS channel, and says why', async () => {
    const put = await api.call('PUT', '/api/v1/channels/oncall', tokens.admin, {
      type: 'webhook',
      url: 'http://127.0.0.1:1/elsewhere',
    });
    expect(put.status, put.text).toBe(409);
    expect((put.json() as ErrorBody).error.message).toContain('NOTIFY_CHANNELS');
    expect((put.json() as ErrorBody).error.message).toContain('at each start');
    expect((await testStore.store.notifyChannels.find('oncall'))?.url).toContain('/hooks/oncall');
  });

  it('lets the api replace an env channel no longer in its NOTIFY_CHANNELS (a leaked URL)', async () => {
    // Stored by an earlier start whose NOTIFY_CHANNELS had it; this api's has it no more.
    await storeEnvChannels(
      testStore.store.notifyChannels,
      { leaked: { type: 'webhook', url: 'http://127.0.0.1:1/hooks/leaked?key=oldkey42' } },
      createLogger('api', 'silent'),
    );
    const put = await api.call('PUT', '/api/v1/channels/leaked', tokens.admin, {
      type: 'webhook',
      url: 'http://127.0.0.1:1/hooks/rotated',
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json()).toMatchObject({ name: 'leaked', source: 'api' });
    const stored = await testStore.store.notifyChannels.find('leaked');
    expect(stored?.url).toBe('http://127.0.0.1:1/hooks/rotated');
    const deleted = await api.call('DELETE', '/api/v1/channels/leaked', tokens.admin);
    expect(deleted.status).toBe(204);
  });

  it('names the field of a bad body and the name of a bad channel name', async () => {
    const noUrl = await api.call('PUT', '/api/v1/channels/ops', tokens.admin, { type: 'webhook' });
    expect(noUrl.status).toBe(422);
    expect((noUrl.json() as ErrorBody).error.message).toContain('url');
    const badType = await api.call('PUT', '/api/v1/channels/ops', tokens.admin, {
      type: 'teams',
      url: 'http://127.0.0.1:1/ops',
    });
    expect(badType.status).toBe(422);
    expect((badType.json() as ErrorBody).error.message).toContain('type');
    const badName = await api.call('PUT', '/api/v1/channels/-ops', tokens.admin, {
      type: 'webhook',
      url: 'http://127.0.0.1:1/ops',
    });
    expect(badName.status).toBe(400);
    expect((badName.json() as ErrorBody).error.message).toContain('"-ops"');
  });

  it('refuses to delete a channel an application names, naming the applications', async () => {
    const deleted = await api.call('DELETE', '/api/v1/channels/pager', tokens.admin);
    expect(deleted.status, deleted.text).toBe(409);
    const body = deleted.json() as ErrorBody;
    expect(body.error.details).toMatchObject({ applications: ['shop', 'shop-2'] });
    expect(await testStore.store.notifyChannels.find('pager')).toBeDefined();
  });

  it('deletes a channel nobody names; an unknown one is 404', async () => {
    const put = await api.call('PUT', '/api/v1/channels/spare', tokens.admin, {
      type: 'webhook',
      url: 'http://127.0.0.1:1/spare',
    });
    expect(put.status).toBe(200);
    const deleted = await api.call('DELETE', '/api/v1/channels/spare', tokens.admin);
    expect(deleted.status, deleted.text).toBe(204);
    expect(await testStore.store.notifyChannels.find('spare')).toBeUndefined();
    const again = await api.call('DELETE', '/api/v1/channels/spare', tokens.admin);
    expect(again.status).toBe(404);
  });
});

describe('NOTIFY_CHANNELS at start-up', () => {
  it('rewrites its channels as env channels, over a channel the api had put', async () => {
    await testStore.store.notifyChannels.put(
      'ops',
      { type: 'webhook', url: 'http://127.0.0.1:1/api-put' },
      'api',
    );
    await storeEnvChannels(
      testStore.store.notifyChannels,
      { ops: { type: 'wecom', url: 'http://127.0.0.1:1/from-env' } },
      createLogger('api', 'silent'),
    );
    expect(await testStore.store.notifyChannels.find('ops')).toMatchObject({
      source: 'env',
      type: 'wecom',
      url: 'http://127.0.0.1:1/from-env',
    });
  });
});
