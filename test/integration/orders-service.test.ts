import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage } from '../../activities/package-build';
import { runLoad } from '../../mockserver/load-generator';
import { freePort } from '../support/free-port';
import {
  createOrdersRepo,
  healthy,
  withFault,
  type OrdersBehaviour,
} from '../support/orders-service';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';

const run = promisify(execFile);

/**
 * The orders service on its own, before the guard is tried on it: each tag's behaviour does
 * what it says, packaged the way relguard packages it (no build step) and scraped by a real
 * Prometheus through file-SD targets that add app, version and instance.
 */
const versions: { tag: string; behaviour: OrdersBehaviour }[] = [
  { tag: 'v1.0.0', behaviour: healthy },
  {
    tag: 'v2.0.0-errors',
    behaviour: withFault({ kind: 'errors', after_seconds: 4, error_ratio: 0.6 }),
  },
  // Long enough for Prometheus to discover and scrape them first, on a busy machine too.
  { tag: 'v2.0.0-dies', behaviour: withFault({ kind: 'dies', after_seconds: 10 }) },
  { tag: 'v2.0.0-saturates', behaviour: withFault({ kind: 'saturates', after_seconds: 10 }) },
  {
    tag: 'v2.0.0-m3',
    behaviour: withFault({ kind: 'errors', after_seconds: 0, error_ratio: 1, machines: ['m3'] }),
  },
];

interface Running {
  tag: string;
  machine: string;
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

let prometheus: TestPrometheus;
let work: string;
let repo: string;
const running = new Map<string, Running>();
const load = new AbortController();
let loadDone: Promise<unknown>;

function start(tag: string, machine: string, dir: string, port: number): Running {
  const child = spawn('node', ['server.js'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      RELGUARD_VERSION: tag,
      RELGUARD_MACHINE_ID: machine,
    },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { tag, machine, port, child, exited };
}

async function healthzOk(port: number, timeoutMs = 1000): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Polls `promql` until `ok` holds on its value; throws with the last value after `seconds`. */
async function until(promql: string, ok: (value: number | undefined) => boolean, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await prometheus.query(promql);
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${promql} is ${value} after ${seconds} s`);
    await delay(250);
  }
}

const key = (tag: string, machine: string) => `${tag}@${machine}`;
const errorRatio = (instance: string) =>
  `sum(rate(orders_handled_total{app="orders",instance="${instance}",code=~"5.."}[5s])) / sum(rate(orders_handled_total{app="orders",instance="${instance}"}[5s]))`;

beforeAll(async () => {
  [prometheus, work] = await Promise.all([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    mkdtemp(path.join(os.tmpdir(), 'relguard-orders-')),
  ]);
  repo = await createOrdersRepo(versions, work);
  // Each tag packaged as relguard does (no build_cmd, no artifact_path: git archive of the tag),
  // unpacked and started as the local platform would, with its environment.
  const machines: [string, string][] = [
    ['v1.0.0', 'm1'],
    ['v2.0.0-errors', 'm1'],
    ['v2.0.0-dies', 'm1'],
    ['v2.0.0-saturates', 'm1'],
    ['v2.0.0-m3', 'm1'],
    ['v2.0.0-m3', 'm3'],
  ];
  const unpacked: { tag: string; machine: string; dir: string; port: number }[] = [];
  for (const [tag, machine] of machines) {
    const built = await buildPackage({
      appName: 'orders',
      repo,
      version: tag,
      workDir: path.join(work, 'build', tag),
    });
    const dir = path.join(work, 'machines', machine, tag);
    await mkdir(dir, { recursive: true });
    await run('tar', ['-xzf', built.filePath, '-C', dir]);
    expect((await readdir(dir)).sort()).toEqual([
      'VERSION',
      'behaviour.json',
      'package.json',
      'server.js',
    ]);
    unpacked.push({ tag, machine, dir, port: await freePort() });
  }
  // Prometheus is told first, then every one starts at once: their faults' clocks start now.
  await prometheus.addTargets(
    'orders',
    unpacked.map(({ tag, machine, port }) => ({
      targets: [`127.0.0.1:${port}`],
      labels: { app: 'orders', version: tag, instance: key(tag, machine) },
    })),
  );
  for (const { tag, machine, dir, port } of unpacked) {
    running.set(key(tag, machine), start(tag, machine, dir, port));
  }
  // Every one passes its health check after its start, as a deploy asks.
  for (const service of running.values()) {
    for (let i = 0; !(await healthzOk(service.port)); i++) {
      if (i > 80) throw new Error(`${service.tag} on ${service.machine} never answered /healthz`);
      await delay(100);
    }
  }
  loadDone = runLoad({
    targets: [...running.values()].map((service) => `http://127.0.0.1:${service.port}`),
    rps: 120,
    durationMs: 120_000,
    signal: load.signal,
    timeoutMs: 2000,
  });
}, 120_000);

afterAll(async () => {
  load.abort();
  await loadDone?.catch(() => undefined);
  for (const service of running.values()) service.child.kill('SIGKILL');
  await prometheus?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the orders service', () => {
  it('exports its own metrics, with no app, version or instance label of its own', async () => {
    const service = running.get(key('v1.0.0', 'm1'))!;
    const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    expect(text).toContain('# TYPE orders_handled_total counter');
    expect(text).toMatch(/^orders_handled_total\{outcome="ok",code="200"\} \d+$/m);
    expect(text).toMatch(/^orders_handled_total\{outcome="failed",code="503"\} \d+$/m);
    expect(text).toMatch(/^orders_latency_seconds_bucket\{le="\+Inf"\} \d+$/m);
    expect(text).not.toMatch(/\b(app|version|instance)=/);
    const version = await (await fetch(`http://127.0.0.1:${service.port}/version`)).json();
    expect(version).toMatchObject({ version: 'v1.0.0', machine: 'm1' });
  });

  it('healthy: a noisy baseline (a few % errors, latency jitter) that stays under 10%', async () => {
    const instance = key('v1.0.0', 'm1');
    // Prometheus sees it through its target labels.
    await until(`up{app="orders",version="v1.0.0",instance="${instance}"}`, (v) => v === 1);
    await until(
      `sum(rate(orders_handled_total{app="orders",version="v1.0.0",instance="${instance}"}[5s]))`,
      (v) => v !== undefined && v > 5,
    );
    // Over the load so far some orders failed, not many; latencies spread over the buckets.
    const total = await until(
      `sum(orders_handled_total{instance="${instance}"})`,
      (v) => v !== undefined && v >= 200,
    );
    const failed = (await prometheus.query(
      `sum(orders_handled_total{instance="${instance}",outcome="failed"})`,
    ))!;
    expect(failed / total!).toBeLessThan(0.1);
    const p99 = await prometheus.query(
      `histogram_quantile(0.99, sum by (le) (rate(orders_latency_seconds_bucket{instance="${instance}"}[10s])))`,
    );
    expect(p99).toBeGreaterThan(0.005);
    expect(p99).toBeLessThan(0.5);
    const p10 = await prometheus.query(
      `histogram_quantile(0.1, sum by (le) (rate(orders_latency_seconds_bucket{instance="${instance}"}[10s])))`,
    );
    expect(p10).toBeLessThan(p99!);
  });

  it('errors after N seconds: the error ratio rises above 30% once it starts', async () => {
    const instance = key('v2.0.0-errors', 'm1');
    await until(errorRatio(instance), (v) => v !== undefined && v > 0.3);
    expect(await prometheus.query(`up{instance="${instance}"}`)).toBe(1);
  });

  it('errors only on the machine the behaviour names (RELGUARD_MACHINE_ID)', async () => {
    await until(errorRatio(key('v2.0.0-m3', 'm3')), (v) => v !== undefined && v > 0.9);
    await until(
      `sum(rate(orders_handled_total{instance="${key('v2.0.0-m3', 'm1')}"}[5s]))`,
      (v) => v !== undefined && v > 5,
    );
    expect(await prometheus.query(errorRatio(key('v2.0.0-m3', 'm1')))).toBeLessThan(0.1);
  });

  it('dies after N seconds: passed its health check, then exits and is scraped as down', async () => {
    const service = running.get(key('v2.0.0-dies', 'm1'))!;
    const instance = key(service.tag, service.machine);
    await until(`max_over_time(up{instance="${instance}"}[1m])`, (v) => v === 1);
    expect(await service.exited).toBe(3);
    expect(await healthzOk(service.port)).toBe(false);
    await until(`up{instance="${instance}"}`, (v) => v === 0);
  });

  it('saturates after N seconds: scrapes fail (up == 0) while the process lives and answers slowly', async () => {
    const service = running.get(key('v2.0.0-saturates', 'm1'))!;
    const instance = key(service.tag, service.machine);
    await until(`max_over_time(up{instance="${instance}"}[1m])`, (v) => v === 1);
    await until(`up{instance="${instance}"}`, (v) => v === 0);
    // Down for Prometheus, not dead: still running, still answering, slower than a scrape.
    expect(service.child.exitCode).toBeNull();
    expect(await healthzOk(service.port, 1000)).toBe(false);
    expect(await healthzOk(service.port, 10_000)).toBe(true);
    // Its scrapes hit the timeout (the scrape interval, 1 s here).
    expect(
      await prometheus.query(`scrape_duration_seconds{instance="${instance}"}`),
    ).toBeGreaterThanOrEqual(0.9);
  });
});
