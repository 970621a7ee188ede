import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type {
  Application,
  Deployment,
  DeploymentStatus,
  PacerConfig,
  RollbackPolicy,
} from '../../domain';
import { runLoad } from '../../mockserver/load-generator';
import { freePort } from './free-port';
import type { TestPrometheus } from './prometheus';
import { machineVersions, releaseCalls, type ReleaseCalls } from './release-calls';
import type { ReleaseStack } from './release-stack';

const run = promisify(execFile);

/**
 * "orders": a tiny order service written for the guard's integration tests, so that the guard
 * is judged on a service nobody tuned it to (not the mockserver): its own metric names
 * (`orders_handled_total{outcome,code}`, the histogram `orders_latency_seconds`), its own
 * failures, no dependency and no build step. It never exports app, version or instance labels:
 * the targets relguard writes for Prometheus add them.
 *
 * What a version does is its `behaviour.json`, committed at its tag beside `server.js`.
 */
export interface OrdersBehaviour {
  /** Share of orders answered 503 from the start: the noise of a healthy service. */
  baseline_error_ratio: number;
  /** Each order waits a random time in [min, max] ms: latency jitter. */
  latency_ms: [number, number];
  fault?: OrdersFault;
}

/**
 * A fault that starts `after_seconds` after the process started, on the machines listed
 * (RELGUARD_MACHINE_ID), or on every machine without a list.
 * - `errors`: `error_ratio` of the orders are answered 503 (outcome `failed`).
 * - `dies`: the process exits (after passing its health checks until then).
 * - `saturates`: its work queue is full: every answer, /metrics and /healthz included, waits
 *   `stall_ms` (default 5 s, longer than any scrape timeout here), so Prometheus' scrapes of it
 *   fail (`up == 0`) while the process lives on and still answers, slowly.
 */
export type OrdersFault =
  | { kind: 'errors'; after_seconds: number; error_ratio: number; machines?: string[] }
  | { kind: 'dies'; after_seconds: number; machines?: string[] }
  | { kind: 'saturates'; after_seconds: number; stall_ms?: number; machines?: string[] };

/** A healthy service's noise: 2% of orders fail, each waits 2-40 ms. */
export const healthy: OrdersBehaviour = { baseline_error_ratio: 0.02, latency_ms: [2, 40] };

export function withFault(fault: OrdersFault): OrdersBehaviour {
  return { ...healthy, fault };
}

/** The service: plain Node, CommonJS, no dependency. */
export const ordersServerJs = String.raw`'use strict';
// orders: a small order service. Answers every path but /metrics, /healthz and /version as an
// order; exports its own metrics in Prometheus' text format, without app/version/instance labels.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const port = Number(process.env.PORT || 8080);
const host = process.env.HOST || '127.0.0.1';
const version = process.env.RELGUARD_VERSION || 'dev';
const machine = process.env.RELGUARD_MACHINE_ID || 'local';
const behaviour = JSON.parse(fs.readFileSync(path.join(__dirname, 'behaviour.json'), 'utf8'));
const startedAt = Date.now();
const baselineErrors = behaviour.baseline_error_ratio || 0;
const [minMs, maxMs] = behaviour.latency_ms || [1, 10];
const fault =
  behaviour.fault && (!behaviour.fault.machines || behaviour.fault.machines.includes(machine))
    ? behaviour.fault
    : undefined;
const faultOn = () => fault !== undefined && Date.now() - startedAt >= fault.after_seconds * 1000;

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const handled = { ok: 0, failed: 0 };
const bucketCounts = buckets.map(() => 0);
let latencyCount = 0;
let latencySum = 0;

function observe(outcome, seconds) {
  handled[outcome] += 1;
  latencyCount += 1;
  latencySum += seconds;
  buckets.forEach((le, i) => {
    if (seconds <= le) bucketCounts[i] += 1;
  });
}

function metricsText() {
  const lines = [
    '# HELP orders_handled_total Orders handled, by outcome and HTTP status code.',
    '# TYPE orders_handled_total counter',
    'orders_handled_total{outcome="ok",code="200"} ' + handled.ok,
    'orders_handled_total{outcome="failed",code="503"} ' + handled.failed,
    '# HELP orders_latency_seconds Time to handle an order.',
    '# TYPE orders_latency_seconds histogram',
  ];
  buckets.forEach((le, i) => lines.push('orders_latency_seconds_bucket{le="' + le + '"} ' + bucketCounts[i]));
  lines.push('orders_latency_seconds_bucket{le="+Inf"} ' + latencyCount);
  lines.push('orders_latency_seconds_sum ' + latencySum);
  lines.push('orders_latency_seconds_count ' + latencyCount);
  lines.push('# HELP orders_start_time_seconds When the process started.');
  lines.push('# TYPE orders_start_time_seconds gauge');
  lines.push('orders_start_time_seconds ' + startedAt / 1000);
  return lines.join('\n') + '\n';
}

function send(response, status, type, body) {
  response.writeHead(status, { 'content-type': type });
  response.end(body);
}

function handle(request, response) {
  const url = (request.url || '/').split('?')[0];
  if (url === '/metrics') return send(response, 200, 'text/plain; version=0.0.4', metricsText());
  if (url === '/healthz') return send(response, 200, 'application/json', '{"status":"ok"}');
  if (url === '/version') {
    const body = { version, machine, pid: process.pid, started_at: new Date(startedAt).toISOString() };
    return send(response, 200, 'application/json', JSON.stringify(body));
  }
  const started = performance.now();
  const wait = minMs + Math.random() * (maxMs - minMs);
  setTimeout(() => {
    const errorRatio = fault && fault.kind === 'errors' && faultOn() ? fault.error_ratio : baselineErrors;
    const failed = Math.random() < errorRatio;
    observe(failed ? 'failed' : 'ok', (performance.now() - started) / 1000);
    if (failed) return send(response, 503, 'application/json', '{"error":"order store unavailable"}');
    send(response, 200, 'application/json', '{"order":"accepted","machine":"' + machine + '"}');
  }, wait);
}

const server = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    if (fault && fault.kind === 'saturates' && faultOn()) {
      setTimeout(() => handle(request, response), fault.stall_ms || 5000);
    } else {
      handle(request, response);
    }
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, host, () => {
  console.log('orders ' + version + ' listening on ' + host + ':' + port + ' as machine ' + machine +
    ' (' + JSON.stringify(behaviour) + ')');
});

if (fault && fault.kind === 'dies') {
  setTimeout(() => {
    console.log('orders ' + version + ' on ' + machine + ': dying now, as behaviour.json says');
    process.exit(3);
  }, fault.after_seconds * 1000);
}
if (fault && fault.kind === 'saturates') {
  setTimeout(() => console.log('orders ' + version + ' on ' + machine + ': saturated from now on'),
    fault.after_seconds * 1000).unref();
}
process.on('SIGTERM', () => process.exit(0));
`;

/** Writes the service with `behaviour` into `dir` (what a tag of the repository holds). */
export async function writeOrdersService(dir: string, behaviour: OrdersBehaviour): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'server.js'), ordersServerJs);
  // CommonJS whatever package.json a folder above the release has.
  await writeFile(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: 'orders', private: true, type: 'commonjs' }, null, 2)}\n`,
  );
  await writeFile(path.join(dir, 'behaviour.json'), `${JSON.stringify(behaviour, null, 2)}\n`);
}

export interface OrdersVersion {
  tag: string;
  behaviour: OrdersBehaviour;
}

/**
 * A git repository of the orders service in a new folder under `parentDir`, one commit and tag
 * per version, each with its own behaviour.json. No build step: relguard packages the tag's
 * files as they are (git archive), and a machine starts it with `node server.js`.
 */
export async function createOrdersRepo(
  versions: OrdersVersion[],
  parentDir: string = os.tmpdir(),
): Promise<string> {
  await mkdir(parentDir, { recursive: true });
  const repo = await mkdtemp(path.join(parentDir, 'relguard-orders-repo-'));
  const git = (...args: string[]) =>
    run('git', ['-c', 'user.name=orders', '-c', 'user.email=orders@example.invalid', ...args], {
      cwd: repo,
    });
  await git('init', '-q', '-b', 'main');
  for (const version of versions) {
    await writeOrdersService(repo, version.behaviour);
    await writeFile(path.join(repo, 'VERSION'), `${version.tag}\n`);
    await git('add', '-A');
    await git('commit', '-q', '-m', `release ${version.tag}`);
    await git('tag', version.tag);
  }
  return repo;
}

/** The service's RED templates: its own metric names, the labels relguard's targets add. */
export function ordersRedMetrics(window = '5s') {
  const selector = 'app="{{app}}",version="{{version}}",instance=~"{{instances}}"';
  return {
    rate: `sum(rate(orders_handled_total{${selector}}[${window}]))`,
    errors: `sum(rate(orders_handled_total{${selector},code=~"5.."}[${window}]))`,
    duration: `histogram_quantile(0.99, sum by (le) (rate(orders_latency_seconds_bucket{${selector}}[${window}])))`,
  };
}

/** The rules every scenario uses: the error rate (the one the faults break) and p99 latency. */
export const ordersRules = [
  { name: 'error rate above 10%', metric: 'error_rate', threshold: 0.1, min_request_rate: 1 },
  { name: 'p99 latency above 1s', metric: 'latency_p99', threshold: 1 },
] as const;

/** The policy of the scenarios: a guard every second, two breaches in a row, no_data ignored. */
export function ordersPolicy(extra: Partial<RollbackPolicy> = {}): Partial<RollbackPolicy> {
  return {
    enabled: true,
    auto_rollback: true,
    interval_seconds: 1,
    consecutive_breaches: 2,
    rules: ordersRules.map((rule) => ({ ...rule })) as RollbackPolicy['rules'],
    no_data: 'ignore',
    ai_analysis: false,
    ...extra,
  };
}

/** One (status, phase) the deployment was seen in, in order, without repeats. */
export interface SeenState {
  status: DeploymentStatus;
  phase?: string;
}

export type DeploymentView = Deployment & { progress?: { phase: string; promotable: boolean } };

/**
 * The orders service as an application of a release stack: three local machines (m1 is the
 * gray machine, then one machine per batch) on free loopback ports, its repository, and load
 * on every machine (60 orders/s, from the mockserver's load generator: any path is an order).
 */
export interface OrdersApp {
  app: Application;
  ports: number[];
  calls: ReleaseCalls;
  /** Runs `v1.0.0` on every machine, with the guard off, and waits until Prometheus has it. */
  install(): Promise<void>;
  /** Sets the scenario's pacer and policy (after install). */
  configure(pacer: Partial<PacerConfig>, policy: Partial<RollbackPolicy>): Promise<void>;
  /** Starts a release of `version` and returns its id. */
  release(version: string): Promise<string>;
  /**
   * Polls the deployment (with its live progress) until it ends, or `until` holds; returns it
   * and every (status, phase) it was seen in.
   */
  follow(
    id: string,
    options?: { until?: (deployment: DeploymentView) => boolean; seconds?: number },
  ): Promise<{ deployment: DeploymentView; seen: SeenState[] }>;
  versions(): Promise<(string | undefined)[]>;
  stop(): Promise<void>;
}

const terminal: DeploymentStatus[] = ['succeeded', 'failed', 'rolled_back', 'cancelled'];

export async function startOrdersApp(
  stack: ReleaseStack,
  prometheus: TestPrometheus,
  name: string,
  versions: OrdersVersion[],
): Promise<OrdersApp> {
  const calls = releaseCalls(() => stack.app);
  const [repo, deployPath] = await Promise.all([
    createOrdersRepo(versions),
    mkdtemp(path.join(os.tmpdir(), `relguard-${name}-machines-`)),
  ]);
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  const created = await calls.api<Application>('POST', '/api/v1/applications', {
    name,
    repo,
    deploy_path: deployPath,
    start_cmd: 'node server.js',
    machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
    pacer: { batch_size: 1, gray_bake_seconds: 0, interval_seconds: 0 },
    rollback_policy: ordersPolicy({ enabled: false }),
    red_metrics_config: ordersRedMetrics(),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const app = created.body;
  const load = new AbortController();
  // Bounded: it stops by itself after 10 minutes whatever happens to the test. 60 requests a
  // second, 20 a machine. Fewer cried wolf: the guard judges a new machine from its first two
  // scrapes, about one second of its orders, and at 10 a second two of the 2% baseline
  // failures among them read as a 20% error rate. A model of the scenarios' policy (5 s
  // window, a guard every second, two breaches) rolls back 1.9% of healthy gray machines at
  // 10 orders/s, 0.2% at 20 (CI rolled back a healthy release this way; docs/findings.md).
  const loadDone = runLoad({
    targets: ports.map((port) => `http://127.0.0.1:${port}`),
    rps: 60,
    durationMs: 600_000,
    signal: load.signal,
    timeoutMs: 2000,
  });

  const orders: OrdersApp = {
    app,
    ports,
    calls,
    async install() {
      const id = await orders.release('v1.0.0');
      const done = await calls.waitForStatus(id, terminal, 120);
      expect(done.status, done.reason).toBe('succeeded');
      expect(await orders.versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
      // The baseline: every machine scraped on v1.0.0, with orders to count.
      const scraped = `count(up{app="${name}",version="v1.0.0"} == 1)`;
      const counted = `count(rate(orders_handled_total{app="${name}",version="v1.0.0",outcome="ok"}[5s]) > 0)`;
      for (let i = 0; ; i++) {
        if ((await prometheus.query(scraped)) === 3 && (await prometheus.query(counted)) === 3) {
          break;
        }
        if (i > 120) throw new Error(`${name}: v1.0.0 is not scraped on 3 machines`);
        await delay(250);
      }
    },
    async configure(pacer, policy) {
      const updated = await calls.api('PUT', `/api/v1/applications/${app.id}`, {
        pacer: { batch_size: 1, ...pacer },
        rollback_policy: ordersPolicy(policy),
      });
      expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    },
    async release(version) {
      const started = await calls.api<Deployment>('POST', '/api/v1/deployments', {
        app_id: app.id,
        package_version: version,
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      return started.body.id;
    },
    async follow(id, options = {}) {
      const seen: SeenState[] = [];
      const deadline = Date.now() + (options.seconds ?? 240) * 1000;
      for (;;) {
        const { status, body } = await calls.api<DeploymentView>(
          'GET',
          `/api/v1/deployments/${id}`,
        );
        if (status === 200) {
          const phase = body.progress?.phase;
          const last = seen[seen.length - 1];
          if (last?.status !== body.status || last.phase !== phase) {
            seen.push({ status: body.status, ...(phase === undefined ? {} : { phase }) });
          }
          if (terminal.includes(body.status) || options.until?.(body) === true) {
            return { deployment: body, seen };
          }
        }
        if (Date.now() > deadline) {
          throw new Error(
            `${name}: deployment ${id} still ${body?.status}; seen ${JSON.stringify(seen)}`,
          );
        }
        await delay(250);
      }
    },
    async versions() {
      return (await machineVersions(ports)).map((machine) => machine.version);
    },
    async stop() {
      load.abort();
      await loadDone.catch(() => undefined);
      const current = await stack.testStore.store.applications.find(app.id);
      await Promise.all(
        (current?.machines ?? []).map((machine) =>
          stack.activityDeps.deps.platforms.local.stop({ app: current!, machine }),
        ),
      );
      await rm(repo, { recursive: true, force: true });
      await rm(deployPath, { recursive: true, force: true });
    },
  };
  return orders;
}
