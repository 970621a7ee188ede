/**
 * Detection and rollback, measured on the real thing, per fault kind: the mockserver on three
 * local machines under load, scraped by a real Prometheus, a release of a new version (each
 * trial a version of its own) whose gray machine gets one fault of the mockserver's own fault
 * API (`POST /faults`) during its bake, once Prometheus has seen it serve, over several
 * trials per kind. One policy for every kind, as a user would write it: an error rate,
 * a p99 latency, a cpu and a memory rule, plus the guard's own `target_down`, under
 * `no_data: 'ignore'` (the harshest setting: where an unscrapable machine used to pass
 * silently). It prints one table, per kind:
 *   - detection: from the fault to the rollback signal (`rollback.requested_at`), as a ratio
 *     of its floor, one scrape for the fault to be seen plus `consecutive_breaches` guard
 *     intervals (issue 14); the first breach may come from the first scrape of the fault, so
 *     the fastest possible is one interval less, and a ratio below 1 is no error;
 *   - the share of faulty releases that reached every machine (every machine ran the new
 *     version at some point, or the release ended `succeeded`): the goal is 0;
 *   - the rules that caught it (`rollback.failing`), so that one reads, say, crash → target_down;
 *   - rollback: from the signal to every machine back on v1, against the time one machine
 *     took to start in the same trial (the gray machine's deploy of v2).
 * A fault that is not caught is a figure of the table, never tuned away: its trial prints what
 * the guard measured after the fault and what Prometheus held. Wall times are printed, never
 * asserted.
 *
 * The kinds and how each is made:
 *   errors      error   rate 0.5 on the business routes
 *   latency     latency 1500 ms on the business routes
 *   saturation  network timeout on the business routes and /metrics: the mockserver has no
 *               fault that blocks its event loop (cpu burns in worker threads, the loop stays
 *               free), so a saturated process is made as Prometheus and the clients see one:
 *               connections accepted, never answered, scrapes timing out (`up == 0`); its
 *               /healthz still answers, so only the scrapes can tell
 *   crash       crash   at once (the process exits with code 1)
 *   cpu         cpu     100% of one core; the cpu rule's rate window is a fixed [1m]
 *               (domain/policy.ts), so it rises over a minute, and a host busy with everything
 *               else may give the burner less than the threshold
 *   memory      memory  512 MB at once
 *
 *   npx tsx bench/guard.ts [--trials 2] [--kinds errors,crash]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  touchedNodeStatuses,
  type Application,
  type Deployment,
  type DeploymentStatus,
  type GuardEvaluationRecord,
} from '../domain';
import { runLoad } from '../mockserver/load-generator';
import { businessRoutes } from '../mockserver/route-names';
import { createDemoRepo } from '../test/support/demo-repo';
import { freePort } from '../test/support/free-port';
import { startPrometheus } from '../test/support/prometheus';
import { startReleaseStack } from '../test/support/release-stack';

interface FaultKind {
  kind: string;
  /** What the table says was injected. */
  fault: string;
  /** The body of `POST /faults` on the gray machine. */
  spec: { type: string; params: Record<string, unknown>; duration?: string };
}

const faultDuration = '180s';
const allKinds: FaultKind[] = [
  {
    kind: 'errors',
    fault: 'error rate=0.5',
    spec: { type: 'error', params: { rate: 0.5 }, duration: faultDuration },
  },
  {
    kind: 'latency',
    fault: 'latency ms=1500',
    spec: { type: 'latency', params: { ms: 1500 }, duration: faultDuration },
  },
  {
    kind: 'saturation',
    fault: 'network timeout, business routes + /metrics',
    spec: {
      type: 'network',
      params: { timeout: true, routes: [...businessRoutes, '/metrics'] },
      duration: faultDuration,
    },
  },
  { kind: 'crash', fault: 'crash delay_ms=0', spec: { type: 'crash', params: { delay_ms: 0 } } },
  {
    kind: 'cpu',
    fault: 'cpu percent=100 cores=1',
    spec: { type: 'cpu', params: { percent: 100, cores: 1 }, duration: faultDuration },
  },
  {
    kind: 'memory',
    fault: 'memory mb=512',
    spec: { type: 'memory', params: { mb: 512 }, duration: faultDuration },
  },
];

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '2' },
    kinds: { type: 'string' },
  },
});
const trials = Number(values.trials);
if (!Number.isInteger(trials) || trials < 1) throw new Error('--trials: a whole number >= 1');
const wantedKinds = values.kinds?.split(',').map((kind) => kind.trim());
const kinds = allKinds.filter((kind) => wantedKinds?.includes(kind.kind) ?? true);
if (kinds.length === 0) {
  throw new Error(`--kinds: none of ${allKinds.map((kind) => kind.kind).join(', ')}`);
}

const scrapeSeconds = 1;
const intervalSeconds = 2;
const consecutiveBreaches = 2;
const grayBakeSeconds = 90;
const verifySeconds = 20;
const window = '[5s]';
const megabyte = 1024 * 1024;

const prometheus = await startPrometheus({ scrapeIntervalSeconds: scrapeSeconds });
const stack = await startReleaseStack({
  prometheusUrl: prometheus.url,
  targetsDir: prometheus.targetsDir,
  scrapeIntervalSeconds: scrapeSeconds,
});
// Every faulty release is a version of its own (v2.0.1, v2.0.2, ...): a version released again
// would share its series with the previous attempt, and the cpu rule's fixed [1m] rate would
// still count the CPU the previous attempt's process burned (its counter reset adds it back).
const newVersions = Array.from({ length: kinds.length * trials }, (_, i) => `v2.0.${i + 1}`);
const repo = await createDemoRepo([{ tag: 'v1.0.0' }, ...newVersions.map((tag) => ({ tag }))]);
const deployPath = await mkdtemp(path.join(os.tmpdir(), 'relguard-bench-'));
const ports = [await freePort(), await freePort(), await freePort()];
const load = new AbortController();

async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await stack.app.request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = (await response.json()) as T;
  if (!response.ok)
    throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The deployment once it is in one of `wanted`, or as it is after `timeoutMs`. */
async function waitFor(
  id: string,
  wanted: readonly DeploymentStatus[],
  timeoutMs = 600_000,
): Promise<Deployment> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deployment = await api<Deployment>('GET', `/api/v1/deployments/${id}`);
    if (wanted.includes(deployment.status) || Date.now() > deadline) return deployment;
    await delay(50);
  }
}

/** When every machine answered `version`, or undefined when they did not within `timeoutMs`. */
async function allOn(version: string, timeoutMs = 60_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const versions = await Promise.all(
      ports.map((port) =>
        fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(1000) })
          .then((response) => response.json() as Promise<{ version: string }>)
          .then((answer) => answer.version)
          .catch(() => ''),
      ),
    );
    if (versions.every((running) => running === version)) return Date.now();
    await delay(20);
  }
  return undefined;
}

const median = (numbers: number[]): number | undefined =>
  numbers.length === 0
    ? undefined
    : [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

const ratio = (value: number | undefined, of: number | undefined): number | undefined =>
  value === undefined || of === undefined || of === 0 ? undefined : Number((value / of).toFixed(2));

const terminal: DeploymentStatus[] = ['rolled_back', 'succeeded', 'failed', 'cancelled'];

interface Trial {
  kind: string;
  trial: number;
  status: DeploymentStatus;
  reached_every_machine: boolean;
  detection_ms: number | undefined;
  rollback_ms: number | undefined;
  start_ms: number | undefined;
  rules: string[];
  /** The failing rules' messages, as the deployment recorded them. */
  evidence: string[];
  /** What the deployment recorded, when the fault was not caught. */
  note?: string;
}

const detectionFloorMs = (scrapeSeconds + consecutiveBreaches * intervalSeconds) * 1000;
const rows: Trial[] = [];
let appId = '';

async function setBake(seconds: number): Promise<void> {
  await api('PUT', `/api/v1/applications/${appId}`, {
    pacer: { batch_size: 1, gray_bake_seconds: seconds, interval_seconds: 1 },
  });
}

/** Releases v1 on every machine with a short bake: the start, and after a fault that passed. */
async function releaseV1(): Promise<void> {
  await setBake(1);
  const release = await api<Deployment>('POST', '/api/v1/deployments', {
    app_id: appId,
    package_version: 'v1.0.0',
  });
  const done = await waitFor(release.id, terminal);
  if (done.status !== 'succeeded') {
    throw new Error(`the release of v1.0.0 ended ${done.status}: ${done.reason ?? ''}`);
  }
  await setBake(grayBakeSeconds);
}

/** Resolves once Prometheus has a request rate for `instance` on `version` (two scrapes in). */
async function scrapedWithTraffic(version: string, instance: string): Promise<void> {
  const promql = `sum(rate(http_requests_total{app="bench",version="${version}",instance="${instance}"}${window}))`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const value = await prometheus.query(promql).catch(() => undefined);
    if (value !== undefined && value > 0) return;
    await delay(200);
  }
  throw new Error(`Prometheus never saw traffic on ${instance} (${version})`);
}

/**
 * For a fault the guard did not act on: each rule's worst value and failing count over the
 * evaluations after the fault, and what Prometheus holds of the gray machine on `version`.
 */
async function whatTheGuardSaw(
  id: string,
  injectedAt: number,
  version: string,
  machine: string,
): Promise<string> {
  const { items } = await api<{ items: GuardEvaluationRecord[] }>(
    'GET',
    `/api/v1/deployments/${id}/guard`,
  );
  const after = items.filter((evaluation) => evaluation.at >= injectedAt);
  const byRule = new Map<string, { max: number | undefined; threshold: number; fails: number }>();
  for (const result of after.flatMap((evaluation) => evaluation.results)) {
    const seen = byRule.get(result.rule) ?? {
      max: undefined,
      threshold: result.threshold,
      fails: 0,
    };
    if (result.value !== undefined) seen.max = Math.max(seen.max ?? -Infinity, result.value);
    if (result.verdict === 'fail') seen.fails++;
    byRule.set(result.rule, seen);
  }
  const rules = [...byRule].map(
    ([rule, seen]) =>
      `${rule} max ${seen.max === undefined ? '—' : Number(seen.max.toPrecision(3))} ` +
      `(threshold ${seen.threshold}), failing ${seen.fails}/${after.length}`,
  );
  const selector = `app="bench",version="${version}",instance="${machine}"`;
  const cpu = await prometheus
    .query(`max(max_over_time(rate(process_cpu_seconds_total{${selector}}[1m])[10m:1s]))`)
    .catch(() => undefined);
  const otherProcess = await prometheus
    .query(
      `count(count_over_time(process_cpu_seconds_total{${selector},exported_version!="${version}"}[10m]))`,
    )
    .catch(() => undefined);
  return (
    `guard after the fault: ${rules.join('; ')}; Prometheus: ${machine}'s highest 1m cpu rate ` +
    `${cpu === undefined ? '—' : cpu.toFixed(3)} cores, ${otherProcess ?? 0} series of another ` +
    `version's process scraped under ${version}'s labels`
  );
}

async function runTrial(kind: FaultKind, trial: number, version: string): Promise<Trial> {
  const started = await api<Deployment>('POST', '/api/v1/deployments', {
    app_id: appId,
    package_version: version,
  });
  const verifying = await waitFor(started.id, ['verifying', ...terminal]);
  if (verifying.status !== 'verifying') {
    throw new Error(`${kind.kind} trial ${trial}: the release ended ${verifying.status} early`);
  }
  const gray = verifying.node_deployments.find((node) => node.batch === 0)!;
  const grayPort = ports[Number(gray.machine_id.slice(1)) - 1]!;
  // The new version scraped clean first, with traffic, as in a real bake.
  await scrapedWithTraffic(version, gray.machine_id);
  const injectedAt = Date.now();
  const injected = await fetch(`http://127.0.0.1:${grayPort}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(kind.spec),
  });
  if (injected.status !== 201) {
    throw new Error(
      `${kind.kind}: POST /faults answered ${injected.status}: ${await injected.text()}`,
    );
  }
  // The bake, the batches and the verification window, and some room.
  let done = await waitFor(started.id, terminal, (grayBakeSeconds + verifySeconds + 120) * 1000);
  let note: string | undefined;
  if (!terminal.includes(done.status)) {
    note = `still ${done.status} past the bake and verification window; rolled back by the bench`;
    await api('POST', `/api/v1/deployments/${started.id}/rollback`, {});
    done = await waitFor(started.id, terminal);
  }
  const reachedEvery =
    done.status === 'succeeded' ||
    done.node_deployments.every((node) => touchedNodeStatuses.includes(node.status));
  const byGuard = done.status === 'rolled_back' && done.rollback?.requested_by === 'metric-guard';
  const signalAt = byGuard
    ? (done.rollback?.requested_at ?? done.rollback?.detected_at)
    : undefined;
  const backAt = done.status === 'rolled_back' ? await allOn('v1.0.0') : undefined;
  if (!byGuard) {
    note =
      `${note ?? `ended ${done.status}: ${done.reason ?? 'no reason recorded'}`}; ` +
      (await whatTheGuardSaw(started.id, injectedAt, version, gray.machine_id));
  }
  // Whatever is left of the fault goes with the process; a release that passed leaves the new
  // version running, so v1 is released again for the next trial.
  await fetch(`http://127.0.0.1:${grayPort}/faults/reset`, { method: 'POST' }).catch(
    () => undefined,
  );
  if (backAt === undefined) await releaseV1();
  return {
    kind: kind.kind,
    trial,
    status: done.status,
    reached_every_machine: reachedEvery,
    detection_ms: signalAt === undefined ? undefined : signalAt - injectedAt,
    rollback_ms: signalAt === undefined || backAt === undefined ? undefined : backAt - signalAt,
    start_ms:
      gray.started_at === undefined || gray.finished_at === undefined
        ? undefined
        : gray.finished_at - gray.started_at,
    rules: [
      ...new Set(
        (done.rollback?.failing ?? [])
          .filter((result) => result.verdict === 'fail')
          .map((result) => result.rule),
      ),
    ],
    evidence: (done.rollback?.failing ?? [])
      .filter((result) => result.verdict === 'fail')
      .map((result) => result.message),
    ...(note === undefined ? {} : { note }),
  };
}

const defined = (numbers: (number | undefined)[]): number[] =>
  numbers.filter((value): value is number => value !== undefined);

try {
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
      no_data: 'ignore',
      verify_seconds: verifySeconds,
      rules: [
        { name: 'error rate above 10%', metric: 'error_rate', threshold: 0.1, min_request_rate: 1 },
        { name: 'p99 latency above 1s', metric: 'latency_p99', threshold: 1, min_request_rate: 1 },
        { name: 'cpu above half a core', metric: 'cpu', threshold: 0.5 },
        { name: 'memory above 300 MB', metric: 'memory', threshold: 300 * megabyte },
      ],
    },
    red_metrics_config: {
      rate: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}${window}))`,
      errors: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",status=~"5.."}${window}))`,
      duration: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}${window})))`,
    },
  });
  appId = app.id;
  const loadDone = runLoad({
    targets: ports.map((port) => `http://127.0.0.1:${port}`),
    rps: 60,
    signal: load.signal,
    timeoutMs: 2000,
  });
  await releaseV1();

  for (const kind of kinds) {
    for (let trial = 1; trial <= trials; trial++) {
      const row = await runTrial(kind, trial, newVersions[rows.length]!);
      rows.push(row);
      console.log(
        `${kind.kind} trial ${trial}: ${row.status}, detection ${row.detection_ms ?? '—'} ms, ` +
          `rollback ${row.rollback_ms ?? '—'} ms, rules ${row.rules.join(', ') || '—'}` +
          (row.note === undefined ? '' : ` (${row.note})`) +
          row.evidence.map((message) => `\n  ${message}`).join(''),
      );
    }
  }
  load.abort();
  await loadDone;

  const perKind = kinds.map((kind) => {
    const mine = rows.filter((row) => row.kind === kind.kind);
    const detections = defined(mine.map((row) => row.detection_ms));
    const rollbacks = defined(mine.map((row) => row.rollback_ms));
    const starts = defined(mine.map((row) => row.start_ms));
    const reached = mine.filter((row) => row.reached_every_machine).length;
    const rules = [...new Set(mine.flatMap((row) => row.rules))];
    return {
      kind: kind.kind,
      fault: kind.fault,
      trials: mine.length,
      caught: detections.length,
      reached_every_machine: reached,
      reached_every_machine_share: Number((reached / mine.length).toFixed(2)),
      detection_median_ms: median(detections),
      detection_ratios: detections.map((ms) => ratio(ms, detectionFloorMs)!),
      detection_ratio: ratio(median(detections), detectionFloorMs),
      rules,
      rollback_median_ms: median(rollbacks),
      one_machine_start_median_ms: median(starts),
      rollback_ratio: ratio(median(rollbacks), median(starts)),
      notes: mine.flatMap((row) =>
        row.note === undefined ? [] : [`trial ${row.trial}: ${row.note}`],
      ),
    };
  });

  const header = [
    'kind',
    'fault',
    'trials',
    'reached every machine',
    'detection / floor (median)',
    'per trial',
    'caught by',
    'rollback / one start',
  ];
  const body = perKind.map((kind) => [
    kind.kind,
    kind.fault,
    String(kind.trials),
    `${kind.reached_every_machine}/${kind.trials} (${kind.reached_every_machine_share})`,
    kind.detection_ratio === undefined ? 'not caught' : String(kind.detection_ratio),
    kind.detection_ratios.join(', ') || '—',
    kind.rules.join(', ') || '—',
    kind.rollback_ratio === undefined ? '—' : String(kind.rollback_ratio),
  ]);
  const widths = header.map((title, index) =>
    Math.max(title.length, ...body.map((cells) => cells[index]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join(' | ')} |`;
  console.log(
    `\npolicy: no_data ignore, scrape ${scrapeSeconds} s, guard interval ${intervalSeconds} s, ` +
      `consecutive_breaches ${consecutiveBreaches}, rate windows ${window}, gray bake ${grayBakeSeconds} s, ` +
      `verify_seconds ${verifySeconds}; detection floor ${detectionFloorMs} ms ` +
      `(scrape + interval x consecutive_breaches)\n`,
  );
  console.log(line(header));
  console.log(`| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`);
  for (const cells of body) console.log(line(cells));
  for (const kind of perKind) {
    for (const note of kind.notes) console.log(`${kind.kind} ${note}`);
  }

  const errors = perKind.find((kind) => kind.kind === 'errors');
  const allRows = rows.length;
  const reachedAll = rows.filter((row) => row.reached_every_machine).length;
  const result = {
    bench: 'guard',
    trials,
    // The error fault's figures, under the keys bench/summary.ts reads.
    detection_median_ms: errors?.detection_median_ms,
    detection_floor_ms: detectionFloorMs,
    detection_ratio: errors?.detection_ratio,
    detection_target_ratio: 2,
    rollback_median_ms: median(defined(rows.map((row) => row.rollback_ms))),
    one_machine_start_median_ms: median(defined(rows.map((row) => row.start_ms))),
    rollback_ratio: ratio(
      median(defined(rows.map((row) => row.rollback_ms))),
      median(defined(rows.map((row) => row.start_ms))),
    ),
    faulty_releases: allRows,
    reached_every_machine: reachedAll,
    reached_every_machine_share: Number((reachedAll / allRows).toFixed(2)),
    kinds: perKind,
  };
  console.log(JSON.stringify(result));
} finally {
  load.abort();
  await stack.stopMachines();
  await stack.stop();
  await prometheus.stop();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
}
