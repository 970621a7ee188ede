import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { LocalPackageStore } from '../../activities/package-store/local';
import { createApp, type RelguardApp } from '../../api/app';
import { appHealthWorkflowId } from '../../domain/machine-health';
import type { Releases } from '../../api/releases';
import { analysisWorkflowId, ApplicationInput, releaseWorkflowId } from '../../domain';
import { sampleReport } from '../support/analysis-report';
import { tokenFor } from '../support/api-token';
import { freePort } from '../support/free-port';
import { startTestStore, type TestStore } from '../support/mongo';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { toolPaths } from '../support/tools';
import { startTogether } from '../support/start-together';

/**
 * A schema-driven fuzz of the whole api: schemathesis reads /openapi.json, sends what the
 * schemas allow and what they refuse, and checks that no answer is a 5xx and that every answer
 * has a status the document declares for the route, in the shape and media type it declares.
 * Every operation is run, the GitHub and Alertmanager webhooks, the package upload and GET
 * /packages/{key} among them; the api's own count of its answers confirms no 5xx, and the
 * number of cases generated is printed (for README).
 */
let testStore: TestStore;
let prometheus: TestPrometheus;
let packageDir: string;
let scratch: string;
let server: ServerType | undefined;
let apiUrl: string;
let adminToken: string;

/**
 * Temporal as the api sees it, always willing: the fuzz is about the api's own answers, which
 * are the same whether a real workflow runs behind them or not (test/integration/release.test.ts
 * runs them against one).
 */
const releases: Releases = {
  start: (deployment) =>
    Promise.resolve({ workflowId: releaseWorkflowId(deployment.app_name, deployment.id) }),
  fence: () => Promise.resolve({ state: 'running' as const }),
  runState: () => Promise.resolve({ state: 'running' as const }),
  // A live release's progress, so that the documented `progress` of a deployment is checked too.
  progress: (deployment) =>
    Promise.resolve({
      deploymentId: deployment.id,
      app: deployment.app_name,
      version: 'v1.0.0',
      previousVersion: '',
      status: 'deploying',
      phase: 'deploying batch 1 of 1',
      paused: false,
      awaitingApproval: false,
      promotable: false,
      batch: 1,
      batches: 1,
      machines: [{ machine_id: 'm1', batch: 0, status: 'deployed' }],
    }),
  signal: () => Promise.resolve(),
  buildPackage: (app, version) => Promise.resolve({ workflowId: `package-${app.name}-${version}` }),
  startAnalysis: (request) =>
    Promise.resolve({ workflowId: analysisWorkflowId(request.deploymentId) }),
  workflowUrl: (workflowId) => `http://127.0.0.1:8233/workflows/${encodeURIComponent(workflowId)}`,
  watchHealth: (app) => Promise.resolve({ workflowId: appHealthWorkflowId(app.id) }),
  stopWatchingHealth: () => Promise.resolve(),
  reportMachineAlerts: () => Promise.resolve(),
  retireMachines: (_app, machineIds) => Promise.resolve({ stopped: machineIds, failed: [] }),
};

/**
 * What schemathesis cannot be told on its command line. Half of the ids it sends are ones that
 * exist (so the routes answer from a real application, release and report, not only 404); the
 * other half are its own. Token revocation gets a token of its own to revoke: schemathesis
 * learns ids from the responses it sees, and would otherwise revoke the token it fuzzes with
 * and see nothing but 401 from then on.
 */
function schemathesisConfig(
  ids: string[],
  revocableTokenId: string,
  signedPackage: { key: string; expires: string; signature: string },
): string {
  return [
    `hooks = ${JSON.stringify(path.join(scratch, 'hooks.py'))}`,
    '',
    '[dictionaries]',
    `ids = { values = ${JSON.stringify(ids)} }`,
    `package_keys = { values = ${JSON.stringify([signedPackage.key])} }`,
    `expiries = { values = ${JSON.stringify([signedPackage.expires])} }`,
    `signatures = { values = ${JSON.stringify([signedPackage.signature])} }`,
    '',
    '[parameters]',
    '"path.id" = { dictionary = "ids", probability = 0.5 }',
    '"body.app_id" = { dictionary = "ids", probability = 0.5 }',
    '"path.key" = { dictionary = "package_keys", probability = 0.5 }',
    '"query.expires" = { dictionary = "expiries", probability = 0.5 }',
    '"query.signature" = { dictionary = "signatures", probability = 0.5 }',
    '',
    '[[operations]]',
    'include-path = "/api/v1/tokens/{id}"',
    'include-method = "DELETE"',
    `parameters = { "path.id" = ${JSON.stringify(revocableTokenId)} }`,
    '',
  ].join('\n');
}

// schemathesis has no serializer for application/gzip (the package upload's body) and reports
// the route as an error; the body is bytes, which its octet-stream serializer sends as they are.
const hooks = `import schemathesis

schemathesis.serializer.alias("application/gzip", "application/octet-stream")
`;

beforeAll(async () => {
  // A real Prometheus behind the console's chart routes: without one they answer 503, which
  // the fuzz counts as a server error like any other 5xx.
  [testStore, prometheus] = await startTogether([startTestStore(), startPrometheus()]);
  packageDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-fuzz-packages-'));
  scratch = await mkdtemp(path.join(os.tmpdir(), 'relguard-fuzz-'));
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const packageStore = new LocalPackageStore({
    dir: packageDir,
    baseUrl: `${apiUrl}/packages`,
    urlSecret: 'fuzz-url-secret-0123456789abcdef0123456789',
  });
  const app = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases,
    logger: createLogger('api', 'silent'),
    // A local store: GET /packages/{key} is fuzzed through its signature check, and with the
    // signed URL of a real package (its parts in the dictionaries) now and then.
    packageStore,
    // On, so that every write passes through the limit; too high for the fuzz to reach.
    writeRateLimit: { perMinute: 1_000_000 },
    prometheus: new PrometheusClient({ url: prometheus.url, timeoutMs: 5_000 }),
    // Set, so that the GitHub webhook is fuzzed through its signature check: no signature
    // schemathesis makes is right, and each refusal must be the documented 401.
    githubWebhookSecret: 'fuzz-secret',
  });
  adminToken = await tokenFor(testStore.store, 'admin', 'fuzz');
  const revocable = await testStore.store.tokens.create(
    { name: 'revocable', role: 'viewer' },
    'test',
  );

  const shop = await testStore.store.applications.create(
    ApplicationInput.parse({
      name: 'shop',
      repo: 'https://github.com/acme/shop.git',
      deploy_path: '/srv/shop',
      start_cmd: 'node main.js',
      machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
    }),
  );
  const started = await app.request('/api/v1/deployments', {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: shop.id, package_version: 'v1.0.0' }),
  });
  expect(started.status).toBe(202);
  const deploymentId = ((await started.json()) as { id: string }).id;
  await testStore.store.analysisReports.save(
    sampleReport({ deployment_id: deploymentId, app_id: shop.id, app_name: 'shop' }),
  );

  // A package in the local store's folder, and the parts of a URL signed for it.
  const packageKey = 'shop/shop-v1.0.0.tar.gz';
  await mkdir(path.join(packageDir, 'shop'), { recursive: true });
  await writeFile(path.join(packageDir, packageKey), gzipSync(Buffer.alloc(1024)));
  const signed = new URL(await packageStore.downloadUrl(packageKey, 3600));
  await writeFile(path.join(scratch, 'hooks.py'), hooks);
  await writeFile(
    path.join(scratch, 'schemathesis.toml'),
    schemathesisConfig([shop.id, deploymentId], revocable.id, {
      key: packageKey,
      expires: signed.searchParams.get('expires') ?? '',
      signature: signed.searchParams.get('signature') ?? '',
    }),
  );
  server = await new Promise<ServerType>((resolve) => {
    const listening = serve({ fetch: answered(app.fetch), hostname: '127.0.0.1', port }, () =>
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
  await Promise.all([testStore?.close(), prometheus?.stop()]);
  for (const dir of [packageDir, scratch]) {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
});

/** How many answers of each status the api gave, all routes, and on GET /packages/* alone. */
const statuses = new Map<number, number>();
const packageStatuses = new Map<number, number>();

function answered(fetchApp: RelguardApp['fetch']): RelguardApp['fetch'] {
  return async (request, env, executionCtx) => {
    const response = await fetchApp(request, env, executionCtx);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (new URL(request.url).pathname.startsWith('/packages/')) {
      packageStatuses.set(response.status, (packageStatuses.get(response.status) ?? 0) + 1);
    }
    return response;
  };
}

/** schemathesis' exit code and everything it printed; killed after `timeoutMs`. */
function schemathesis(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // The scratch folder as its working directory: it reads the config written there, and its
    // .hypothesis and .schemathesis folders land there, not in the checkout.
    const child = spawn(toolPaths().schemathesis, args, {
      cwd: scratch,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, output: signal === null ? output : `${output}\n(killed by ${signal})` });
    });
  });
}

describe('the api against its own /openapi.json', () => {
  it('answers no 5xx, and only declared statuses in their declared shapes', async () => {
    const { code, output } = await schemathesis(
      [
        '--config-file',
        path.join(scratch, 'schemathesis.toml'),
        'run',
        `${apiUrl}/openapi.json`,
        '--header',
        `Authorization: Bearer ${adminToken}`,
        '--checks',
        'not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance',
        '--max-examples',
        '15',
        '--seed',
        '1',
        // One worker: the run is then the same for a seed (and with two, schemathesis once
        // stopped here on an internal error of its own).
        '--workers',
        '1',
        '--generation-database',
        'none',
        '--no-color',
      ],
      // Generous: on a busy 2-core CI host one run took over 100 s.
      400_000,
    );
    expect(code, output).toBe(0);

    // Every operation of the document was run, the webhooks, the upload and the package
    // downloads among them, and the api itself answered no 5xx to any request it was sent.
    const document = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(document.paths).flatMap((item) => Object.keys(item));
    for (const route of [
      '/api/v1/webhooks/github',
      '/api/v1/webhooks/alertmanager',
      '/api/v1/applications/{id}/packages/{version}',
      '/packages/{key}',
    ]) {
      expect(Object.keys(document.paths)).toContain(route);
    }
    expect(output).toContain(`Tested: ${operations.length}`);
    const cases = Number(/Test cases:\s+(\d+) generated/.exec(output)?.[1]);
    expect(cases).toBeGreaterThan(0);
    const serverErrors = [...statuses].filter(([status]) => status >= 500);
    expect(serverErrors).toEqual([]);
    // The package downloads were refused unsigned (401) and tampered (403), and served (200)
    // when every part of the signed URL was the real one.
    expect([...packageStatuses.keys()].sort()).toEqual(expect.arrayContaining([200, 401, 403]));
    const requests = [...statuses.values()].reduce((sum, count) => sum + count, 0);
    const summary = `schemathesis: ${cases} cases generated over ${operations.length} operations; the api answered ${requests} requests, 0 with a 5xx (by status: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))})`;
    console.log(summary);
  }, 420_000);
});
