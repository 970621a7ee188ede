import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment as DeploymentView } from '../../client';
import { deploymentView, fakeApi, on, runWith, shopApp, type Answer } from './fake-api';

/** The CLI's commands over an api in memory: what they send, print and exit with. */
let dir: string;
const list = on('GET', '/api/v1/applications', { status: 200, body: { items: [shopApp] } });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-cli-commands-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Answers GET /api/v1/deployments/d1 with each view in turn, then the last one forever. */
function sequence(views: (DeploymentView | Answer)[]) {
  let next = 0;
  return on('GET', '/api/v1/deployments/d1', () => {
    const view = views[Math.min(next++, views.length - 1)]!;
    return typeof view.status === 'number' ? view : { status: 200, body: view };
  });
}

const running = (batch: number, nodes: Parameters<typeof deploymentView>[1], phase: string) =>
  deploymentView('deploying', nodes, {
    progress: {
      status: 'deploying',
      phase,
      paused: false,
      awaitingApproval: false,
      promotable: false,
      batch,
      batches: 2,
      machines: [
        { machine_id: 'm1', batch: 0, status: nodes[0] },
        { machine_id: 'm2', batch: 1, status: nodes[1] },
      ],
    },
  });

const rolledBack = deploymentView('rolled_back', ['rolled_back', 'pending'], {
  reason: 'error rate 0.31 > 0.05 on the new version',
  rollback: {
    reason: 'error rate 0.31 > 0.05 on the new version',
    requested_by: 'metric-guard',
    failing: [
      {
        rule: 'error rate above 5%',
        metric: 'error_rate',
        promql: 'sum(rate(http_requests_total{app="shop",status=~"5.."}[1m]))',
        value: 0.312345,
        operator: '>',
        threshold: 0.05,
        verdict: 'fail',
        message: 'error rate 0.3123 > 0.05',
      },
    ],
  },
});

describe('app', () => {
  it('creates an application from a YAML file, with the token as a bearer and never printed', async () => {
    const file = path.join(dir, 'app.yaml');
    await writeFile(
      file,
      'name: shop\ndeploy_path: /srv/shop\nstart_cmd: node main.js\nmachines:\n  - { id: m1, host: 127.0.0.1, port: 4001 }\n',
    );
    const api = fakeApi([on('POST', '/api/v1/applications', { status: 201, body: shopApp })]);
    const result = await runWith(['app', 'create', '-f', file], api.fetch);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`created application shop (${shopApp.id}) with 2 machine(s)\n`);
    expect(api.requests[0]).toMatchObject({
      method: 'POST',
      headers: { authorization: 'Bearer rg_secret_token', 'content-type': 'application/json' },
      body: {
        name: 'shop',
        deploy_path: '/srv/shop',
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
      },
    });
    expect(result.stdout + result.stderr).not.toContain('rg_secret_token');
  });

  it('reads JSON from stdin with -f -, and prints the created application with --json', async () => {
    const api = fakeApi([on('POST', '/api/v1/applications', { status: 201, body: shopApp })]);
    const result = await runWith(['app', 'create', '-f', '-', '--json'], api.fetch, {
      stdin: '{"name": "shop", "deploy_path": "/srv/shop", "start_cmd": "node main.js"}',
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(shopApp);
    expect(api.requests[0]?.body).toEqual({
      name: 'shop',
      deploy_path: '/srv/shop',
      start_cmd: 'node main.js',
    });
  });

  it('prints each field the api refuses on a line of its own, and exits 2', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'name: Shop!\nmachines:\n  - { id: m1, host: h, port: "4001" }\n');
    const details = [
      { field: 'name', message: 'must be 1-63 lower-case letters, digits or dashes' },
      { field: 'machines.0.port', message: 'Invalid input: expected number, received string' },
    ];
    const api = fakeApi([
      on('POST', '/api/v1/applications', {
        status: 422,
        body: {
          error: {
            code: 'validation_failed',
            message: `invalid request body: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`,
            details,
          },
        },
      }),
    ]);
    const result = await runWith(['app', 'create', '-f', file], api.fetch);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        'relguard: invalid request body (422 validation_failed)',
        'relguard:   name: must be 1-63 lower-case letters, digits or dashes',
        'relguard:   machines.0.port: Invalid input: expected number, received string',
        '',
      ].join('\n'),
    );
  });

  it('refuses a file that is missing, not YAML, or not one mapping, with exit 1 and no request', async () => {
    const api = fakeApi([]);
    const broken = path.join(dir, 'broken.yaml');
    await writeFile(broken, 'name: shop\n  machines: [\n');
    const listFile = path.join(dir, 'list.yaml');
    await writeFile(listFile, '- name: shop\n');
    const missing = await runWith(['app', 'create', '-f', path.join(dir, 'nope.yaml')], api.fetch);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(ENOENT)');
    expect(missing.stderr).toContain('see relguard app create --help');
    const notYaml = await runWith(['app', 'create', '-f', broken], api.fetch);
    expect(notYaml.code).toBe(1);
    expect(notYaml.stderr).toMatch(/is not valid YAML or JSON: .* at line 1, column 7/);
    expect(notYaml.stderr).toContain('relguard: name: shop\n');
    const notOne = await runWith(['app', 'create', '-f', listFile], api.fetch);
    expect(notOne.code).toBe(1);
    expect(notOne.stderr).toContain('must hold one application');
    expect(api.requests).toEqual([]);
  });

  it('lists, gets by name or id, and says when there is no such application', async () => {
    const api = fakeApi([list]);
    const listed = await runWith(['app', 'list'], api.fetch);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(
      /^NAME +ID +VERSION +HEALTH +HEALTHY +ERROR +ALERT +UNKNOWN +PLATFORM +RELEASE$/,
    );
    expect(listed.stdout).toMatch(
      new RegExp(`shop +${shopApp.id} +v1.0.0 +healthy +2/2 +0 +0 +0 +local +-`),
    );

    const byName = await runWith(['app', 'get', 'shop'], api.fetch);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toMatch(/pacer +1 per batch, gray bake 60s, interval 30s/);
    expect(byName.stdout).toMatch(/m2 +127\.0\.0\.1:4002 +healthy +v1\.0\.0/);
    const byId = await runWith(['app', 'get', shopApp.id, '--json'], api.fetch);
    expect(JSON.parse(byId.stdout)).toEqual(shopApp);

    const unknown = await runWith(['app', 'get', 'nope'], api.fetch);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toContain('no application named "nope"');
    const raw = await runWith(['app', 'list', '--json'], api.fetch);
    expect(JSON.parse(raw.stdout)).toEqual({ items: [shopApp] });
  });
});

describe('package', () => {
  const pkg = {
    id: 'p1',
    app_id: shopApp.id,
    app_name: 'shop',
    version: 'v1.1.0',
    key: 'shop/shop-v1.1.0.tar.gz',
    url: 'http://127.0.0.1:3000/packages/shop/shop-v1.1.0.tar.gz',
    md5: 'a'.repeat(32),
    size: 52_000,
    created_at: Date.UTC(2025, 0, 2, 3, 4, 5),
  };
  const packagesPath = `/api/v1/applications/${shopApp.id}/packages`;

  it('lists packages', async () => {
    const api = fakeApi([list, on('GET', packagesPath, { status: 200, body: { items: [pkg] } })]);
    const result = await runWith(['package', 'list', 'shop'], api.fetch);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/v1\.1\.0 +50\.8 KiB +a{32} +2025-01-02 03:04:05Z/);
  });

  it('says when the package exists, and waits for a build with --wait', async () => {
    const exists = fakeApi([list, on('POST', '/api/v1/packages', { status: 200, body: pkg })]);
    const done = await runWith(['package', 'build', 'shop', 'v1.1.0'], exists.fetch);
    expect(done).toMatchObject({ code: 0 });
    expect(done.stdout).toContain('package shop v1.1.0 exists: 50.8 KiB');
    expect(exists.requests[1]?.body).toEqual({ app_id: shopApp.id, version: 'v1.1.0' });

    let polls = 0;
    const building = fakeApi([
      list,
      on('POST', '/api/v1/packages', {
        status: 202,
        body: { workflow_id: 'package-shop-v1.1.0', workflow_url: 'http://ui/package-shop-v1.1.0' },
      }),
      on('GET', packagesPath, () => ({
        status: 200,
        body: { items: ++polls < 3 ? [] : [pkg] },
      })),
    ]);
    const waited = await runWith(['package', 'build', 'shop', 'v1.1.0', '--wait'], building.fetch);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain('building shop v1.1.0 (package-shop-v1.1.0)');
    expect(waited.stdout).toContain('package shop v1.1.0 stored');
    expect(polls).toBe(3);

    const never = fakeApi([
      list,
      on('POST', '/api/v1/packages', {
        status: 202,
        body: { workflow_id: 'package-shop-v1.1.0', workflow_url: 'http://ui/b' },
      }),
      on('GET', packagesPath, { status: 200, body: { items: [] } }),
    ]);
    const late = await runWith(
      ['package', 'build', 'shop', 'v1.1.0', '--wait', '--timeout', '5'],
      never.fetch,
    );
    expect(late.code).toBe(2);
    expect(late.stderr).toContain('did not appear within 5s; its build: http://ui/b');
  });
});

describe('release', () => {
  it('starts a release with a gray machine and says how to follow it', async () => {
    const started = deploymentView('pending', ['pending', 'pending']);
    const api = fakeApi([list, on('POST', '/api/v1/deployments', { status: 202, body: started })]);
    const result = await runWith(
      ['release', 'start', 'shop', 'v1.1.0', '--gray', 'm1', '--requested-by', 'ci for bob'],
      api.fetch,
    );
    expect(result.code).toBe(0);
    expect(api.requests[1]?.body).toEqual({
      app_id: shopApp.id,
      package_version: 'v1.1.0',
      gray_machine_id: 'm1',
      requested_by: 'ci for bob',
    });
    expect(result.stdout).toContain(
      'release d1 started: shop v1.1.0 on 2 machine(s), gray machine m1',
    );
    expect(result.stdout).toContain('follow it: relguard release watch d1');
  });

  it.each([
    ['succeeded', ['deployed', 'deployed'], 0, 'release d1 succeeded: shop v1.1.0 on 2 machine(s)'],
    ['failed', ['failed', 'pending'], 4, 'release d1 failed'],
    ['cancelled', ['deployed', 'pending'], 5, 'release d1 cancelled'],
  ] as const)('start --wait exits with the release: %s', async (status, nodes, code, outcome) => {
    const api = fakeApi([
      list,
      on('POST', '/api/v1/deployments', {
        status: 202,
        body: deploymentView('pending', ['pending', 'pending']),
      }),
      sequence([
        running(0, ['deploying', 'pending'], 'deploying the gray machine'),
        deploymentView(status, [...nodes], { reason: `it ${status}` }),
      ]),
    ]);
    const result = await runWith(['release', 'start', 'shop', 'v1.1.0', '--wait'], api.fetch);
    expect(result.code).toBe(code);
    expect(result.stdout).toContain(outcome);
  });

  it('watches in a log: a line per change, the reason and failing rules at the end, exit 3', async () => {
    const api = fakeApi([
      sequence([
        running(0, ['deploying', 'pending'], 'deploying the gray machine'),
        running(0, ['deploying', 'pending'], 'deploying the gray machine'),
        running(0, ['deployed', 'pending'], 'baking the gray machine'),
        {
          status: 503,
          body: { error: { code: 'unavailable', message: 'Temporal is unavailable' } },
        },
        rolledBack,
      ]),
    ]);
    const result = await runWith(['release', 'watch', 'd1'], api.fetch);
    expect(result.code).toBe(3);
    const lines = result.stdout.trimEnd().split('\n');
    const stamped = lines.filter((line) => /^\d\d:\d\d:\d\d /.test(line)).map((l) => l.slice(9));
    expect(stamped).toEqual([
      'status deploying: deploying the gray machine',
      'gray machine [....................] 0/2 machines on v1.1.0',
      'machine m1 (batch 0) deploying',
      'machine m2 (batch 1) pending',
      'status deploying: baking the gray machine',
      'gray machine [##########..........] 1/2 machines on v1.1.0',
      'machine m1 (batch 0) deployed',
      'status rolled_back',
      'gray machine [....................] 0/2 machines on v1.1.0',
      'machine m1 (batch 0) rolled_back',
      'reason: error rate 0.31 > 0.05 on the new version',
    ]);
    expect(lines.slice(stamped.length)).toEqual([
      'release d1 rolled back: shop is back on v1.0.0',
      'reason: error rate 0.31 > 0.05 on the new version (by metric-guard)',
      'failing rules:',
      '- error rate above 5%: error_rate = 0.3123 > 0.05 [fail]',
      '  sum(rate(http_requests_total{app="shop",status=~"5.."}[1m]))',
    ]);
    // A blip of the api is told once and ridden out.
    expect(result.stderr).toBe('relguard: Temporal is unavailable; retrying\n');
  });

  it('redraws in place on a terminal', async () => {
    const api = fakeApi([
      sequence([running(1, ['deployed', 'deploying'], 'deploying batch 1 of 1'), rolledBack]),
    ]);
    const result = await runWith(['release', 'watch', 'd1'], api.fetch, {
      tty: true,
      columns: 200,
    });
    expect(result.code).toBe(3);
    const frames = result.stdout.split('\x1b[');
    // The second frame starts by going up as many lines as the first one drew, and clearing.
    const firstFrameLines = frames[0]!.split('\n').length - 1;
    expect(frames[1]).toBe(`${firstFrameLines}A\r`);
    expect(frames[2]!.startsWith('J')).toBe(true);
    expect(frames[0]).toContain(
      'progress batch 1 of 1 [##########..........] 1/2 machines on v1.1.0',
    );
    expect(frames[2]).toContain('status   rolled_back');
    expect(frames[2]).toContain('- error rate above 5%: error_rate = 0.3123 > 0.05 [fail]');
  });

  it('gives up a watch when the deployment does not exist', async () => {
    const api = fakeApi([
      on('GET', '/api/v1/deployments/d9', {
        status: 404,
        body: { error: { code: 'not_found', message: 'deployment d9 not found' } },
      }),
    ]);
    const result = await runWith(['release', 'watch', 'd9'], api.fetch);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe('relguard: deployment d9 not found (404 not_found)\n');
  });

  it('shows the status, or the raw JSON, and exits 0 whatever the release did', async () => {
    const api = fakeApi([sequence([rolledBack])]);
    const human = await runWith(['release', 'status', 'd1'], api.fetch);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('release d1: shop v1.1.0 (was v1.0.0)');
    expect(human.stdout).toContain(
      'reason: error rate 0.31 > 0.05 on the new version (by metric-guard)',
    );
    const raw = await runWith(['release', 'status', 'd1', '--json'], api.fetch);
    expect(JSON.parse(raw.stdout)).toEqual(rolledBack);
  });

  it('sends pause, resume, approve, rollback and cancel with the reason', async () => {
    const view = running(0, ['deployed', 'pending'], 'baking the gray machine');
    const api = fakeApi([
      on('POST', /^\/api\/v1\/deployments\/d1\/\w+$/, { status: 202, body: view }),
    ]);
    for (const action of ['pause', 'resume', 'approve', 'rollback', 'cancel']) {
      const result = await runWith(
        ['release', action, 'd1', '--reason', 'p99 doubled', '--requested-by', 'alice'],
        api.fetch,
      );
      expect(result).toMatchObject({
        code: 0,
        stdout: `${action} sent to release d1 (shop v1.1.0)\n`,
      });
    }
    expect(api.requests.map((r) => [r.path, r.body])).toEqual(
      ['pause', 'resume', 'approve', 'rollback', 'cancel'].map((action) => [
        `/api/v1/deployments/d1/${action}`,
        { reason: 'p99 doubled', requested_by: 'alice' },
      ]),
    );
    const refused = fakeApi([
      on('POST', '/api/v1/deployments/d1/resume', {
        status: 409,
        body: { error: { code: 'conflict', message: 'cannot resume: the release is not paused' } },
      }),
    ]);
    const result = await runWith(['release', 'resume', 'd1'], refused.fetch);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot resume: the release is not paused (409 conflict)');
  });
});

describe('analysis and errors', () => {
  it('shows a report as Markdown, and the api message when there is none', async () => {
    const api = fakeApi([
      on('GET', '/api/v1/deployments/d1/analysis?format=markdown', {
        status: 200,
        body: '# Analysis of shop v1.1.0\n',
        contentType: 'text/markdown',
      }),
      on('GET', '/api/v1/deployments/d2/analysis', {
        status: 404,
        body: {
          error: { code: 'not_found', message: 'deployment d2 has no analysis report yet' },
        },
      }),
    ]);
    const markdown = await runWith(['analysis', 'show', 'd1', '--markdown'], api.fetch);
    expect(markdown).toMatchObject({ code: 0, stdout: '# Analysis of shop v1.1.0\n' });
    expect(api.requests[0]?.headers.accept).toBe('text/markdown');
    const none = await runWith(['analysis', 'show', 'd2'], api.fetch);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('deployment d2 has no analysis report yet (404 not_found)');
  });

  it('explains a missing token, an unreachable api and an answer that is not the api', async () => {
    const api = fakeApi([
      on('GET', '/api/v1/applications', {
        status: 401,
        body: { error: { code: 'unauthorized', message: 'a bearer token is required' } },
      }),
    ]);
    const denied = await runWith(['app', 'list'], api.fetch);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('a bearer token is required (401 unauthorized)');
    expect(denied.stderr).toContain('RELGUARD_TOKEN');

    const refused: typeof fetch = () =>
      Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));
    const down = await runWith(['app', 'list'], refused);
    expect(down.code).toBe(2);
    expect(down.stderr).toBe('relguard: cannot reach the api at http://api.test (ECONNREFUSED)\n');

    const html = fakeApi([on('GET', '/api/v1/applications', { status: 200, body: '<html>' })]);
    const other = await runWith(['app', 'list'], html.fetch);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('is not JSON');
  });

  it('exits 1 on bad usage before any request', async () => {
    const api = fakeApi([]);
    const result = await runWith(['release', 'start', 'shop'], api.fetch);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      'relguard: missing <version>\nrelguard: see relguard release start --help\n',
    );
    const badApi = await runWith(['app', 'list'], api.fetch, { env: { RELGUARD_API_URL: 'nope' } });
    expect(badApi.code).toBe(1);
    expect(api.requests).toEqual([]);
  });
});
