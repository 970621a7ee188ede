import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve, type ServerType } from '@hono/node-server';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { LocalPackageStore } from '../../activities/package-store/local';
import { createApp, type RelguardApp } from '../../api/app';
import type { Releases } from '../../api/releases';
import { analysisWorkflowId, ApplicationInput, releaseWorkflowId } from '../../domain';
import { appHealthWorkflowId } from '../../domain/machine-health';
import { sampleReport } from './analysis-report';
import { freePort } from './free-port';
import { startTestStore } from './mongo';
import { startPrometheus } from './prometheus';
import { startTogether } from './start-together';

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

/** What the fuzz needs to know of the stack it runs against. */
export interface FuzzStack {
  apiUrl: string;
  /** An admin token, which schemathesis sends with every request. */
  adminToken: string;
  /** The admin token's id: the one DELETE /tokens/{id} must not revoke. */
  adminTokenId: string;
  /** A folder of the stack's own: schemathesis' config, hooks and reports go there. */
  scratch: string;
  /** The GitHub webhook's secret, with which a delivery is signed. */
  githubWebhookSecret: string;
  /** Ids that exist: the application `shop` and a deployment of it. */
  ids: { app: string; deployment: string };
  /** A token (not the admin's) for DELETE /tokens/{id} to revoke. */
  revocableTokenId: string;
  /** The parts of a signed URL of a real package in the local store. */
  signedPackage: { key: string; expires: string; signature: string };
  /** How many answers of each status the api gave, all routes. */
  statuses: Map<number, number>;
  /** The same, on GET /packages/* alone. */
  packageStatuses: Map<number, number>;
  stop(): Promise<void>;
}

/**
 * The api on a real FerretDB, Prometheus and local package store, served over HTTP on a free
 * port, with an application, a release of it and its analysis report in the store, and a
 * package with a signed URL.
 */
export async function startFuzzStack(): Promise<FuzzStack> {
  // A real Prometheus behind the console's chart routes: without one they answer 503, which
  // the fuzz counts as a server error like any other 5xx.
  const [testStore, prometheus] = await startTogether([startTestStore(), startPrometheus()]);
  const packageDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-fuzz-packages-'));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'relguard-fuzz-'));
  const port = await freePort();
  const githubWebhookSecret = 'fuzz-secret';
  const apiUrl = `http://127.0.0.1:${port}`;
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
    // Set, so that the GitHub webhook is fuzzed through its signature check: a delivery
    // without a signature or with a wrong one is refused with the documented 401.
    githubWebhookSecret,
  });
  const admin = await testStore.store.tokens.create({ name: 'fuzz', role: 'admin' }, 'test');
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
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: shop.id, package_version: 'v1.0.0' }),
  });
  if (started.status !== 202) throw new Error(`the first release answered ${started.status}`);
  const deploymentId = ((await started.json()) as { id: string }).id;
  await testStore.store.analysisReports.save(
    sampleReport({ deployment_id: deploymentId, app_id: shop.id, app_name: 'shop' }),
  );

  // A package in the local store's folder, and the parts of a URL signed for it.
  const packageKey = 'shop/shop-v1.0.0.tar.gz';
  await mkdir(path.join(packageDir, 'shop'), { recursive: true });
  await writeFile(path.join(packageDir, packageKey), gzipSync(Buffer.alloc(1024)));
  const signed = new URL(await packageStore.downloadUrl(packageKey, 3600));

  const statuses = new Map<number, number>();
  const packageStatuses = new Map<number, number>();
  const answered: RelguardApp['fetch'] = async (request, env, executionCtx) => {
    const response = await app.fetch(request, env, executionCtx);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (new URL(request.url).pathname.startsWith('/packages/')) {
      packageStatuses.set(response.status, (packageStatuses.get(response.status) ?? 0) + 1);
    }
    return response;
  };
  const server = await new Promise<ServerType>((resolve) => {
    const listening = serve({ fetch: answered, hostname: '127.0.0.1', port }, () =>
      resolve(listening),
    );
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('api not on its port');

  return {
    apiUrl,
    adminToken: admin.token,
    adminTokenId: admin.id,
    scratch,
    githubWebhookSecret,
    ids: { app: shop.id, deployment: deploymentId },
    revocableTokenId: revocable.id,
    signedPackage: {
      key: packageKey,
      expires: signed.searchParams.get('expires') ?? '',
      signature: signed.searchParams.get('signature') ?? '',
    },
    statuses,
    packageStatuses,
    async stop() {
      await new Promise((resolve) => server.close(resolve));
      await Promise.all([testStore.close(), prometheus.stop()]);
      for (const dir of [packageDir, scratch]) await rm(dir, { recursive: true, force: true });
    },
  };
}
