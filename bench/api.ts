/**
 * The api's read path under load, served for real: FerretDB, a Temporal dev server, the Hono
 * app on node:http. GET /api/v1/deployments/:id of a rolled-back release of 20 machines (with
 * its node deployments, rollback record and actions) read with a viewer token, against
 * GET /healthz (a Temporal and a MongoDB round trip), with the same connections and duration;
 * and the same deployment read from a second api whose tokens record their last use on every
 * request instead of once a minute, to show what that write costs. After a warm-up, the three
 * take turns in rounds, in a different order each round, so that drift on a shared machine
 * hits them alike: req/s over all rounds, p50 and p99 the median of the rounds'. autocannon
 * runs in a worker thread, so the load does not share the api's event loop (it still shares
 * the machine's cores, with FerretDB and Temporal).
 *
 *   npx tsx bench/api.ts [--seconds 10] [--connections 50] [--rounds 3]
 *
 * --seconds is each endpoint's load in all, split over the rounds.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import autocannon from 'autocannon';
import { TokenRepository } from '../activities/db';
import { createLogger } from '../activities/logger';
import { createApp } from '../api/app';
import { temporalReleases } from '../api/releases';
import { connectTemporal } from '../api/temporal';
import { ApplicationInput, type NodeDeployment } from '../domain';
import { tokenFor } from '../test/support/api-token';
import { freePort } from '../test/support/free-port';
import { startTestStore } from '../test/support/mongo';
import { startDevServer } from '../test/support/temporal';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const warmupSeconds = Math.min(2, seconds);

interface Measured {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts, and answers that were not 2xx. */
  errors: number;
}

/** One endpoint under load: where, and with which bearer token. */
interface Target {
  name: string;
  url: string;
  token?: string;
}

/**
 * Loads `target` for `duration` seconds, then waits for the requests autocannon left unanswered
 * (and the writes they started) so that they do not slow down the next measurement.
 */
async function load(target: Target, duration: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url: target.url,
    connections,
    duration,
    workers: 1,
    ...(target.token === undefined ? {} : { headers: { authorization: `Bearer ${target.token}` } }),
  });
  while (inFlight > 0) await delay(20);
  await delay(500);
  return result;
}

const median = (numbers: number[]) =>
  [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? 0;
const sum = (numbers: number[]) => numbers.reduce((total, value) => total + value, 0);

function combine(results: autocannon.Result[]): Measured {
  return {
    rps: Math.round(
      sum(results.map((result) => result.requests.total)) /
        sum(results.map((result) => result.duration)),
    ),
    p50Ms: median(results.map((result) => result.latency.p50)),
    p99Ms: median(results.map((result) => result.latency.p99)),
    errors: sum(results.map((result) => result.errors + result.timeouts + result.non2xx)),
  };
}

const machineCount = 20;
const [temporal, testStore] = await Promise.all([startDevServer(), startTestStore()]);
const { store } = testStore;
const temporalHealth = connectTemporal(
  { TEMPORAL_ADDRESS: temporal.address },
  { timeoutMs: 2000, logger: createLogger('api', 'silent') },
);
const servers: ServerType[] = [];
/** Requests the apis have taken and not answered yet. */
let inFlight = 0;

/** The api over `tokens`, served on a free loopback port; its base URL. */
async function serveApi(tokens: TokenRepository): Promise<string> {
  const app = createApp({
    store: { ...store, tokens },
    temporal: temporalHealth.health,
    releases: temporalReleases({
      client: temporal.client,
      taskQueue: 'relguard-bench',
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:8233',
    }),
    logger: createLogger('api', 'silent'),
  });
  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const counted = async (request: Request) => {
      inFlight++;
      try {
        return await app.fetch(request);
      } finally {
        inFlight--;
      }
    };
    const started = serve({ fetch: counted, hostname: '127.0.0.1', port }, () => resolve(started));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A release of `machineCount` machines that was rolled back after its gray machine's bake. */
async function storeRolledBackRelease(): Promise<string> {
  const machines = Array.from({ length: machineCount }, (_, index) => ({
    id: `shop-${String(index + 1).padStart(2, '0')}`,
    host: `10.0.${Math.floor(index / 10)}.${(index % 10) + 11}`,
    port: 8080,
    labels: { zone: index % 2 === 0 ? 'a' : 'b' },
  }));
  const application = await store.applications.create(
    ApplicationInput.parse({
      name: 'shop',
      repo: 'https://github.com/acme/shop.git',
      deploy_path: '/srv/shop',
      start_cmd: 'node main.js',
      machines,
      pacer: { batch_size: 5, interval_seconds: 30, gray_bake_seconds: 120 },
    }),
  );
  const started = Date.now() - 15 * 60_000;
  const node_deployments: NodeDeployment[] = machines.map((machine, index) => {
    const batch = index === 0 ? 0 : Math.ceil(index / 5);
    const deployedAt = started + batch * 45_000 + index * 800;
    return {
      machine_id: machine.id,
      batch,
      status: batch <= 2 ? 'rolled_back' : 'skipped',
      version: batch <= 2 ? 'v1.41.0' : 'v1.42.0',
      ...(batch <= 2 ? { started_at: deployedAt, finished_at: deployedAt + 2_400 } : {}),
    };
  });
  const detectedAt = started + 150_000;
  const failing = ['error rate above 5%', 'p99 above 2x the baseline'].map((rule, index) => ({
    rule,
    metric: index === 0 ? 'error_rate' : 'latency_p99',
    promql: `sum(rate(http_requests_total{app="shop",version="v1.42.0",instance=~"shop-01|shop-02",status=~"5.."}[1m])) / sum(rate(http_requests_total{app="shop",version="v1.42.0",instance=~"shop-01|shop-02"}[1m]))`,
    baseline_promql: `sum(rate(http_requests_total{app="shop",version="v1.41.0",status=~"5.."}[1m]))`,
    value: index === 0 ? 0.31 : 1.92,
    baseline: index === 0 ? 0.004 : 0.41,
    operator: '>',
    threshold: index === 0 ? 0.05 : 2,
    verdict: 'fail' as const,
    message: `${rule}: failed (2) >= consecutive_breaches (2)`,
  }));
  const deployment = await store.deployments.create({
    app_name: application.name,
    app_id: application.id,
    status: 'rolled_back',
    package_version: 'v1.42.0',
    gray_machine_id: 'shop-01',
    platform: 'local',
    package: {
      url: 'http://127.0.0.1:3000/packages/shop/v1.42.0.tar.gz',
      md5: '0123456789abcdef0123456789abcdef',
      size: 48_213_004,
      created_at: started - 60_000,
    },
    node_deployments,
    previous_version: 'v1.41.0',
    reason: 'metric guard: error rate above 5%, p99 above 2x the baseline',
    rollback: {
      reason: 'metric guard: error rate above 5%, p99 above 2x the baseline',
      requested_by: 'metric-guard',
      requested_at: detectedAt + 200,
      detected_at: detectedAt,
      first_breach_at: detectedAt - 30_000,
      failing,
    },
    actions: [
      { action: 'start', by: 'ci for alice', at: started },
      { action: 'pause', by: 'alice', at: started + 60_000, reason: 'checking the dashboards' },
      { action: 'resume', by: 'alice', at: started + 90_000 },
    ],
  });
  return deployment.id;
}

function line(name: string, measured: Measured): string {
  return `${name.padEnd(50)} ${String(measured.rps).padStart(7)} req/s  p50 ${String(measured.p50Ms).padStart(4)} ms  p99 ${String(measured.p99Ms).padStart(4)} ms  errors ${measured.errors}`;
}

const ratio = (of: number, to: number) => (to === 0 ? 0 : Math.round((of / to) * 1000) / 1000);

try {
  const deploymentId = await storeRolledBackRelease();
  const viewerToken = await tokenFor(store, 'viewer', 'bench-viewer');
  const throttled = await serveApi(store.tokens);
  // The same database, but last_used_at written on every request: the cost being avoided.
  const everyRequest = await serveApi(new TokenRepository(store.db, { lastUsedGranularityMs: 0 }));
  const deploymentPath = `/api/v1/deployments/${deploymentId}`;

  const probe = await fetch(`${throttled}${deploymentPath}`, {
    headers: { authorization: `Bearer ${viewerToken}` },
  });
  const probeBytes = (await probe.text()).length;
  if (probe.status !== 200) throw new Error(`GET ${deploymentPath} answered ${probe.status}`);
  const health = await fetch(`${throttled}/healthz`);
  if (health.status !== 200) throw new Error(`GET /healthz answered ${health.status}`);
  console.log(
    `api bench: ${connections} connections, ${seconds} s per endpoint in ${rounds} rounds (after ${warmupSeconds} s warm-up each); the deployment is ${probeBytes} bytes of JSON`,
  );

  const targets: Target[] = [
    {
      name: 'GET /api/v1/deployments/:id',
      url: `${throttled}${deploymentPath}`,
      token: viewerToken,
    },
    { name: 'GET /healthz', url: `${throttled}/healthz` },
    {
      name: 'GET /api/v1/deployments/:id, last use each time',
      url: `${everyRequest}${deploymentPath}`,
      token: viewerToken,
    },
  ];
  for (const target of targets) await load(target, warmupSeconds);
  const resultsOf = new Map<Target, autocannon.Result[]>(targets.map((target) => [target, []]));
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, index) => targets[(index + round) % targets.length]!);
    for (const target of order) resultsOf.get(target)!.push(await load(target, seconds / rounds));
  }
  const [deployment, healthz, unthrottled] = targets.map((target) => {
    const measured = combine(resultsOf.get(target)!);
    console.log(line(target.name, measured));
    return measured;
  }) as [Measured, Measured, Measured];

  const result = {
    bench: 'api',
    connections,
    seconds,
    rounds,
    deployment_rps: deployment.rps,
    deployment_p50_ms: deployment.p50Ms,
    deployment_p99_ms: deployment.p99Ms,
    healthz_rps: healthz.rps,
    healthz_p50_ms: healthz.p50Ms,
    healthz_p99_ms: healthz.p99Ms,
    rps_ratio: ratio(deployment.rps, healthz.rps),
    p99_ratio: ratio(deployment.p99Ms, healthz.p99Ms),
    every_request_write_rps: unthrottled.rps,
    every_request_write_p99_ms: unthrottled.p99Ms,
    throttle_rps_gain: ratio(deployment.rps, unthrottled.rps),
    errors: deployment.errors + healthz.errors + unthrottled.errors,
  };
  console.log(
    `deployment / healthz: ${result.rps_ratio} of the req/s, ${result.p99_ratio} x the p99; ` +
      `last use once a minute / on every request: ${result.throttle_rps_gain} x the req/s`,
  );
  console.log(JSON.stringify(result));
  if (result.errors > 0) process.exitCode = 1;
} finally {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await temporalHealth.connection.close();
  await testStore.close();
  await temporal.teardown();
}
