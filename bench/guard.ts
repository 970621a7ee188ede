/**
 * Detection and rollback, measured on the real thing: the mockserver on three local machines
 * under load, scraped by a real Prometheus, a release of v2 whose gray machine gets an error
 * fault, over several trials. Prints, per trial and as a median, the time
 *   - from the fault to the rollback signal (detection), against its floor: one scrape for the
 *     errors to be seen, then (consecutive_breaches - 1) evaluation intervals;
 *   - from the signal to every machine back on v1 (rollback), against the time one machine
 *     took to start in the same run (the gray machine's deploy of v2).
 * Target: detection within 2x its floor.
 *
 *   npx tsx bench/guard.ts [--trials 5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Application, Deployment, DeploymentStatus } from '../domain';
import { runLoad } from '../mockserver/load-generator';
import { createDemoRepo } from '../test/support/demo-repo';
import { freePort } from '../test/support/free-port';
import { startPrometheus } from '../test/support/prometheus';
import { startReleaseStack } from '../test/support/release-stack';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '5' } } });
const trials = Number(values.trials);
const scrapeSeconds = 1;
const intervalSeconds = 2;
const consecutiveBreaches = 2;

const prometheus = await startPrometheus({ scrapeIntervalSeconds: scrapeSeconds });
const stack = await startReleaseStack({
  prometheusUrl: prometheus.url,
  targetsDir: prometheus.targetsDir,
});
const repo = await createDemoRepo([{ tag: 'v1.0.0' }, { tag: 'v2.0.0' }]);
const deployPath = await mkdtemp(path.join(os.tmpdir(), 'relguard-bench-'));
const ports = [await freePort(), await freePort(), await freePort()];
const load = new AbortController();

async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await stack.app.request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as T;
}

async function waitFor(id: string, wanted: DeploymentStatus[]): Promise<Deployment> {
  for (;;) {
    const deployment = await api<Deployment>('GET', `/api/v1/deployments/${id}`);
    if (wanted.includes(deployment.status)) return deployment;
    await delay(50);
  }
}

async function allOn(version: string): Promise<number> {
  for (;;) {
    const versions = await Promise.all(
      ports.map((port) =>
        fetch(`http://127.0.0.1:${port}/version`)
          .then((response) => response.json() as Promise<{ version: string }>)
          .then((answer) => answer.version)
          .catch(() => ''),
      ),
    );
    if (versions.every((running) => running === version)) return Date.now();
    await delay(20);
  }
}

const median = (numbers: number[]) =>
  [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;

try {
  const window = '[5s]';
  const app = await api<Application>('POST', '/api/v1/applications', {
    name: 'bench',
    repo,
    deploy_path: deployPath,
    start_cmd: 'node main.js',
    machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
    pacer: { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 1 },
    rollback_policy: {
      interval_seconds: intervalSeconds,
      consecutive_breaches: consecutiveBreaches,
      rules: [
        { name: 'error rate above 10%', metric: 'error_rate', threshold: 0.1, min_request_rate: 1 },
      ],
    },
    red_metrics_config: {
      rate: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}${window}))`,
      errors: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",status=~"5.."}${window}))`,
    },
  });
  const loadDone = runLoad({
    targets: ports.map((port) => `http://127.0.0.1:${port}`),
    rps: 60,
    signal: load.signal,
    timeoutMs: 2000,
  });
  const first = await api<Deployment>('POST', '/api/v1/deployments', {
    app_id: app.id,
    package_version: 'v1.0.0',
  });
  await waitFor(first.id, ['succeeded']);
  await api('PUT', `/api/v1/applications/${app.id}`, {
    pacer: { batch_size: 1, gray_bake_seconds: 120, interval_seconds: 1 },
  });

  const detectionFloorMs = (scrapeSeconds + (consecutiveBreaches - 1) * intervalSeconds) * 1000;
  const rows: { trial: number; detection_ms: number; rollback_ms: number; start_ms: number }[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    const started = await api<Deployment>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v2.0.0',
    });
    const verifying = await waitFor(started.id, ['verifying']);
    const gray = verifying.node_deployments[0]!;
    // Let the new version be scraped clean first, as in a real bake.
    await delay(3000);
    const injectedAt = Date.now();
    await fetch(`http://127.0.0.1:${ports[0]}/faults/error?rate=0.5&duration=120s`, {
      method: 'POST',
    });
    const done = await waitFor(started.id, ['rolled_back', 'succeeded', 'failed']);
    const backAt = await allOn('v1.0.0');
    await fetch(`http://127.0.0.1:${ports[0]}/faults/reset`, { method: 'POST' });
    if (done.status !== 'rolled_back' || done.rollback?.requested_at === undefined) {
      throw new Error(`trial ${trial}: the release ended ${done.status}`);
    }
    rows.push({
      trial,
      detection_ms: done.rollback.requested_at - injectedAt,
      rollback_ms: backAt - done.rollback.requested_at,
      start_ms: (gray.finished_at ?? 0) - (gray.started_at ?? 0),
    });
  }
  load.abort();
  await loadDone;

  const detection = median(rows.map((row) => row.detection_ms));
  const rollback = median(rows.map((row) => row.rollback_ms));
  const start = median(rows.map((row) => row.start_ms));
  console.log('trial  detection_ms  rollback_ms  one_machine_start_ms');
  for (const row of rows) {
    console.log(
      `${String(row.trial).padStart(5)}  ${String(row.detection_ms).padStart(12)}  ${String(row.rollback_ms).padStart(11)}  ${String(row.start_ms).padStart(20)}`,
    );
  }
  const result = {
    bench: 'guard',
    trials,
    detection_median_ms: detection,
    detection_floor_ms: detectionFloorMs,
    detection_ratio: Number((detection / detectionFloorMs).toFixed(2)),
    detection_target_ratio: 2,
    rollback_median_ms: rollback,
    one_machine_start_median_ms: start,
    rollback_ratio: Number((rollback / start).toFixed(2)),
  };
  console.log(
    `detection: median ${detection} ms, floor ${detectionFloorMs} ms, ratio ${result.detection_ratio} (target <= 2)`,
  );
  console.log(
    `rollback: median ${rollback} ms, one machine's start ${start} ms, ratio ${result.rollback_ratio}`,
  );
  console.log(JSON.stringify(result));
} finally {
  load.abort();
  const current = await stack.testStore.store.applications.findByName('bench');
  for (const machine of current?.machines ?? []) {
    await stack.activityDeps.deps.platforms.local.stop({ app: current!, machine });
  }
  await stack.stop();
  await prometheus.stop();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
}
