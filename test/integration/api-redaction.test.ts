import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { createApp } from '../../api/app';
import { runCli } from '../../cli/run';
import type { Role } from '../../domain';
import { tokenFor } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { recordingHealthWatchers } from '../support/releases';
import { serveHttp, type HttpApi } from '../support/http-api';

/**
 * Secrets in application bodies (issue 15), over real HTTP and FerretDB: no answer that carries
 * an application gives the credentials of its repository to any role, nor its commands and SSH
 * key paths to a role below admin; a PUT of a redacted body keeps the stored secrets.
 */
const REPO_SECRET = 'ghp_repoSecret0123456789';
const START_SECRET = 'startSecretValue42';
const STOP_SECRET = 'stopSecretValue42';
const BUILD_SECRET = 'buildSecretValue42';
const KEY_SECRET = 'id_ed25519_secretKeyName';
const secretRepo = `https://x-access-token:${REPO_SECRET}@github.com/acme/shop.git`;

let testStore: TestStore;
let api: HttpApi;
const tokens = {} as Record<Role, string>;
let appId: string;
/** The raw answer to the admin's POST that created the application. */
let createdText: string;

const application = {
  name: 'shop',
  repo: secretRepo,
  deployment_platform: 'ssh',
  deploy_path: '/srv/shop',
  start_cmd: `API_KEY=${START_SECRET} node main.js`,
  stop_cmd: `curl -H "X-Token: ${STOP_SECRET}" localhost/stop`,
  build_cmd: `NPM_TOKEN=${BUILD_SECRET} npm ci`,
  machines: [
    {
      id: 'm1',
      host: '10.0.0.11',
      port: 8080,
      ssh: { user: 'deploy', key_path: `/home/ops/.ssh/${KEY_SECRET}` },
    },
  ],
  rollback_policy: { notify: ['oncall'] },
};

/** Each secret found in a raw answer, by name. */
function secretsIn(text: string, names: ('repo' | 'commands' | 'key')[]): string[] {
  const found: string[] = [];
  if (names.includes('repo') && text.includes(REPO_SECRET)) found.push('repo credentials');
  if (names.includes('commands')) {
    for (const secret of [START_SECRET, STOP_SECRET, BUILD_SECRET]) {
      if (text.includes(secret)) found.push(`command secret ${secret}`);
    }
  }
  if (names.includes('key') && text.includes(KEY_SECRET)) found.push('ssh key path');
  return found;
}

beforeAll(async () => {
  testStore = await startTestStore();
  const app = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases: recordingHealthWatchers().releases,
    logger: createLogger('api', 'silent'),
  });
  api = await serveHttp(app);
  for (const role of ['viewer', 'deployer', 'admin'] as const) {
    tokens[role] = await tokenFor(testStore.store, role);
  }
  // The application names it: applications are refused channels the store does not have.
  await testStore.store.notifyChannels.put(
    'oncall',
    { type: 'webhook', url: 'http://127.0.0.1:1/hook' },
    'env',
  );
  const created = await api.call('POST', '/api/v1/applications', tokens.admin, application);
  expect(created.status, created.text).toBe(201);
  createdText = created.text;
  appId = (created.json() as { id: string }).id;
});

afterAll(async () => {
  await api?.close();
  await testStore?.close();
});

describe('application bodies', () => {
  it.each(['viewer', 'deployer'] as const)(
    'a %s sees no repository credentials, commands or key paths, and is told what is masked',
    async (role) => {
      for (const path of [`/api/v1/applications/${appId}`, '/api/v1/applications']) {
        const answer = await api.call('GET', path, tokens[role]);
        expect(answer.status).toBe(200);
        expect(secretsIn(answer.text, ['repo', 'commands', 'key']), path).toEqual([]);
      }
      const one = (await api.call('GET', `/api/v1/applications/${appId}`, tokens[role])).json();
      expect(one).toMatchObject({
        repo: 'https://***@github.com/acme/shop.git',
        start_cmd: '***',
        stop_cmd: '***',
        build_cmd: '***',
        machines: [{ id: 'm1', ssh: { user: 'deploy', key_path: '***' } }],
        redacted: ['repo', 'start_cmd', 'stop_cmd', 'build_cmd', 'machines.0.ssh.key_path'],
      });
    },
  );

  it('an admin sees that the repository has credentials, never them; commands and key paths in full', async () => {
    const answer = await api.call('GET', `/api/v1/applications/${appId}`, tokens.admin);
    expect(secretsIn(answer.text, ['repo'])).toEqual([]);
    expect(answer.json()).toMatchObject({
      repo: 'https://***@github.com/acme/shop.git',
      start_cmd: application.start_cmd,
      machines: [{ ssh: { key_path: application.machines[0]!.ssh.key_path } }],
      redacted: ['repo'],
    });
    const list = await api.call('GET', '/api/v1/applications', tokens.admin);
    expect(secretsIn(list.text, ['repo'])).toEqual([]);
    expect(secretsIn(createdText, ['repo']), 'the POST answer').toEqual([]);
  });

  it('/metrics and the deployments list carry none of them', async () => {
    // A release of the application, recorded as the api records one (start-release.ts): built
    // from its repo, on its machine, so the list has an entry that could carry them.
    const deployment = await testStore.store.deployments.create({
      app_name: 'shop',
      app_id: appId,
      status: 'failed',
      reason: 'the build of v1.0.0 failed',
      package_version: 'v1.0.0',
      gray_machine_id: 'm1',
      platform: 'ssh',
      node_deployments: [{ machine_id: 'm1', batch: 0, status: 'pending', version: 'v1.0.0' }],
      previous_version: '',
      actions: [{ action: 'start', by: 'test-deployer', at: Date.now() }],
    });
    for (const path of ['/metrics', '/api/v1/deployments', `/api/v1/deployments?app_id=${appId}`]) {
      const answer = await api.call('GET', path, tokens.viewer);
      expect(answer.status).toBe(200);
      expect(secretsIn(answer.text, ['repo', 'commands', 'key']), path).toEqual([]);
    }
    const listed = (await api.call('GET', '/api/v1/deployments', tokens.viewer)).json() as {
      items: { id: string; app_name: string }[];
    };
    expect(listed.items).toEqual([
      expect.objectContaining({ id: deployment.id, app_name: 'shop' }),
    ]);
  });

  it('the CLI prints what the api gives: a viewer sees no secret in app get and app list, --json included', async () => {
    for (const argv of [
      ['app', 'get', 'shop'],
      ['app', 'list'],
      ['--json', 'app', 'get', 'shop'],
    ]) {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, {
        env: { RELGUARD_API_URL: api.url, RELGUARD_TOKEN: tokens.viewer },
        cwd: process.cwd(),
        io: {
          stdout: { write: (text: string) => (stdout += text) },
          stderr: { write: (text: string) => (stderr += text) },
          readStdin: () => Promise.resolve(''),
        },
      });
      expect(code, stderr).toBe(0);
      expect(secretsIn(stdout + stderr, ['repo', 'commands', 'key']), argv.join(' ')).toEqual([]);
    }
  });
});

describe('writing a redacted body back', () => {
  it('a PUT of what GET gave keeps every stored secret', async () => {
    for (const role of ['admin', 'viewer'] as const) {
      // The admin PUTs the body a viewer was shown (every mask), and the one it was shown itself.
      const shown = (
        await api.call('GET', `/api/v1/applications/${appId}`, tokens[role])
      ).json() as Record<string, unknown>;
      const body = Object.fromEntries(
        ['repo', 'start_cmd', 'stop_cmd', 'build_cmd', 'machines', 'deploy_path'].map((key) => [
          key,
          shown[key],
        ]),
      );
      const put = await api.call('PUT', `/api/v1/applications/${appId}`, tokens.admin, {
        ...body,
        pacer: { interval_seconds: role === 'admin' ? 30 : 45 },
      });
      expect(put.status, put.text).toBe(200);
      expect(secretsIn(put.text, ['repo'])).toEqual([]);
      const stored = await testStore.store.applications.get(appId);
      expect(stored).toMatchObject({
        repo: secretRepo,
        start_cmd: application.start_cmd,
        stop_cmd: application.stop_cmd,
        build_cmd: application.build_cmd,
        machines: [{ ssh: { key_path: application.machines[0]!.ssh.key_path } }],
        pacer: { interval_seconds: role === 'admin' ? 30 : 45 },
      });
    }
  });

  it('a mask that stands for no stored value is refused, naming the field, and nothing changes', async () => {
    const put = await api.call('PUT', `/api/v1/applications/${appId}`, tokens.admin, {
      repo: 'https://***@attacker.example.com/acme/shop.git',
    });
    expect(put.status).toBe(422);
    expect(put.text).toContain('repo');
    expect((await testStore.store.applications.get(appId)).repo).toBe(secretRepo);

    const created = await api.call('POST', '/api/v1/applications', tokens.admin, {
      ...application,
      name: 'masked',
      start_cmd: '***',
    });
    expect(created.status).toBe(422);
    expect(created.text).toContain('start_cmd');
  });

  it('new credentials given in full replace the old ones, and are masked in the answer', async () => {
    const fresh = 'https://bot:ghp_freshCredential987@github.com/acme/shop.git';
    const put = await api.call('PUT', `/api/v1/applications/${appId}`, tokens.admin, {
      repo: fresh,
    });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain('ghp_freshCredential987');
    expect((await testStore.store.applications.get(appId)).repo).toBe(fresh);
  });
});
