/**
 * The health watcher's cost: one worker watching --apps applications of --machines machines
 * (50 x 20 = 1,000 by default), each application's watcher (workflows/app-health) checking
 * every machine every --interval seconds: its health check over HTTP through the local
 * platform, Prometheus' `up` and `ALERTS` once per application, the statuses decided in the
 * workflow. Everything is real: a Temporal dev server, FerretDB, a Prometheus scraping every
 * machine (so each one is `healthy`, none `absent`), the api (which starts each watcher when
 * the application is created) and the worker, both in this process.
 *
 * The machines are one HTTP server in a child process (this file with --serve-machines),
 * listening on one loopback port per machine and answering 200 on the health path and on
 * /metrics; the applications say they run v1.0.0 there (stored so, never released: a release
 * has a bench of its own) and have a stop_cmd, so the local platform judges them by the health
 * check alone, not by a process of its own. The fleet is quiet: no status changes once the
 * watchers have seen it, so a check writes nothing, which is the steady state being measured.
 *
 * Three windows of --seconds in one run (the idle one --idle-seconds): the worker idle, then
 * --small-apps applications, then all --apps. For each: the worker's CPU (process.cpuUsage of
 * this process, which also holds the idle api) as a share of the window x the cores; the
 * checks done (the watchers' own counts) against the ideal window / interval x apps, and the
 * rate from each watcher's first and last check in the window (a watcher waits the interval
 * after its check ends, so a check's own time makes both a little less than 1); the history
 * events per application per hour (describe's historyLength, scaled); the worker's CPU per
 * machine check; how long a check takes (its activity, from the histories); and, to see where
 * the CPU goes, the worker's threads (main, the SDK core's, the workflow thread with V8's
 * helpers) and the other processes (Temporal, FerretDB, Prometheus, the machines) from /proc,
 * with what the rest of the host spent meanwhile (another test run makes the figures shared).
 * Ratios, never a target.
 *
 *   npx tsx bench/health.ts [--apps 50] [--machines 20] [--small-apps 5] [--interval 5]
 *                           [--seconds 40] [--idle-seconds 10] [--scrape 5]
 *
 * A smoke run in about a minute: --apps 2 --machines 5 --small-apps 1 --seconds 10
 * --idle-seconds 0.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeTargets } from '../activities/prometheus-targets';
import type { Application, Machine } from '../domain';
import { appHealthWorkflowId } from '../domain/machine-health';
import { startPrometheus, type TestPrometheus } from '../test/support/prometheus';
import { startReleaseStack, type ReleaseStack } from '../test/support/release-stack';
import { appHealthQuery } from '../workflows/app-health/messages';
import { api, percentile, round } from './support/fleet';
import { markdownTable, type SummaryRow } from './summary';

const { values } = parseArgs({
  options: {
    apps: { type: 'string', default: '50' },
    machines: { type: 'string', default: '20' },
    'small-apps': { type: 'string', default: '5' },
    interval: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '40' },
    'idle-seconds': { type: 'string', default: '10' },
    scrape: { type: 'string', default: '5' },
    /** Internal: be the machines (one HTTP server on this many ports), for the bench's child. */
    'serve-machines': { type: 'string' },
  },
});

const thisFile = fileURLToPath(import.meta.url);
const projectRoot = path.dirname(path.dirname(thisFile));
const version = 'v1.0.0';
const healthPath = '/healthz';

/**
 * The machines' side, in a process of its own so that its CPU is not the worker's: one HTTP
 * server on `count` loopback ports, 200 on the health path and on /metrics (Prometheus' scrape:
 * `up` is 1). Prints its ports as one JSON line; exits when its stdin closes (the bench ended).
 */
async function serveMachines(count: number): Promise<void> {
  const server = http.createServer((request, response) => {
    if (request.url === '/metrics') {
      response
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        .end('bench_machine_up 1\n');
    } else if (request.url === healthPath) {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else {
      response.writeHead(404).end();
    }
  });
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    // Each listener hands its connections to the one HTTP server.
    const listener = net.createServer((socket) => server.emit('connection', socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    ports.push((listener.address() as net.AddressInfo).port);
  }
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

interface Machines {
  ports: number[];
  pid: number;
  close(): Promise<void>;
}

/** Starts the machines' process and waits for its ports. */
async function startMachines(count: number): Promise<Machines> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', thisFile, '--serve-machines', String(count)],
    { cwd: projectRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ports = await new Promise<number[]>((resolve, reject) => {
    let output = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined && output.includes('\n')) {
        resolve((JSON.parse(line) as { ports: number[] }).ports);
      }
    });
    child.once('exit', (code) => reject(new Error(`the machines' process exited (${code})`)));
  });
  return {
    ports,
    pid: child.pid!,
    async close() {
      child.stdin!.end();
      if (!(await Promise.race([exited.then(() => true), delay(5000, false)]))) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** CPU ticks (user + system) per process: this one and every process it started. */
type ProcessTicks = Map<number, { name: string; ticks: number }>;
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function processTicks(): ProcessTicks {
  const all = new Map<number, { name: string; ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Gone meanwhile.
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    // After the name: state, ppid, ... utime is the 14th field of the line, stime the 15th.
    const fields = stat.slice(close + 2).split(' ');
    all.set(Number(entry), {
      name,
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
    });
  }
  const mine: ProcessTicks = new Map();
  const isMine = (pid: number): boolean => {
    for (let at = all.get(pid); at !== undefined; at = all.get(at.ppid)) {
      if (at.ppid === process.pid) return true;
    }
    return pid === process.pid;
  };
  for (const [pid, info] of all) {
    if (isMine(pid)) mine.set(pid, { name: info.name, ticks: info.ticks });
  }
  return mine;
}

/** CPU ms per kind of process between two samples (a process started meanwhile from zero). */
function cpuByProcess(
  before: ProcessTicks,
  after: ProcessTicks,
  names: Map<number, string>,
): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [pid, { name, ticks }] of after) {
    if (pid === process.pid) continue; // The worker: process.cpuUsage, more precise.
    const label = names.get(pid) ?? name;
    const ms = ((ticks - (before.get(pid)?.ticks ?? 0)) / ticksPerSecond) * 1000;
    result[label] = (result[label] ?? 0) + ms;
  }
  return result;
}

/** CPU ms the whole host spent busy (every core), from /proc/stat. */
function hostBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const ticks = fields.map(Number);
  // user nice system idle iowait irq softirq steal: all but idle and iowait were busy.
  const busy = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0) - ticks[3]! - ticks[4]!;
  return (busy / ticksPerSecond) * 1000;
}

/**
 * CPU ms of this process's threads: the main thread (the activities, the api, the MongoDB
 * driver, the SDK's bridge), the SDK core's Rust runtime (tokio: gRPC to Temporal), and the
 * rest (the workflow thread, V8's and libuv's helpers: Node names them all "node").
 */
function threadMs(): { main: number; core: number; other: number } {
  const result = { main: 0, core: 0, other: 0 };
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
    if (Number(tid) === process.pid) result.main += ms;
    else if (name.startsWith('tokio')) result.core += ms;
    else result.other += ms;
  }
  return result;
}

interface WatcherSnapshot {
  checks: number;
  /** Epoch ms of its last check, from the watcher. */
  lastCheckAt: number | undefined;
  events: number;
  bytes: number;
}

async function bench(): Promise<void> {
  const appCount = Number(values.apps);
  const machinesPerApp = Number(values.machines);
  const smallApps = Math.min(Number(values['small-apps']), appCount);
  const intervalSeconds = Number(values.interval);
  const windowSeconds = Number(values.seconds);
  const idleSeconds = Number(values['idle-seconds']);
  const scrapeSeconds = Number(values.scrape);
  const cores = os.availableParallelism();

  const started = Date.now();
  const machines = await startMachines(appCount * machinesPerApp);
  let prometheus: TestPrometheus | undefined;
  let stack: ReleaseStack | undefined;
  try {
    prometheus = await startPrometheus({ scrapeIntervalSeconds: scrapeSeconds });
    stack = await startReleaseStack({
      prometheusUrl: prometheus.url,
      targetsDir: prometheus.targetsDir,
      scrapeIntervalSeconds: scrapeSeconds,
    });
    console.log(
      `stack up in ${Math.round((Date.now() - started) / 1000)} s: Temporal dev server, FerretDB, ` +
        `Prometheus (scrape ${scrapeSeconds} s), api and worker in this process; ` +
        `${appCount * machinesPerApp} machines on loopback in process ${machines.pid}; ${cores} cores`,
    );
    await run(stack, prometheus, machines);
  } finally {
    await stack?.stop();
    await prometheus?.stop();
    await machines.close();
  }

  async function run(stack: ReleaseStack, prometheus: TestPrometheus, machines: Machines) {
    const names = new Map<number, string>([[machines.pid, 'machines']]);
    const apps: Application[] = [];

    const watcher = (app: Application) =>
      stack.temporal.client.workflow.getHandle(appHealthWorkflowId(app.id));

    async function snapshot(app: Application): Promise<WatcherSnapshot> {
      const handle = watcher(app);
      const [view, description] = await Promise.all([
        handle.query(appHealthQuery),
        handle.describe(),
      ]);
      return {
        checks: view.checks,
        lastCheckAt: view.lastCheckAt,
        events: description.historyLength,
        bytes: description.historySize ?? 0,
      };
    }

    /** Creates applications up to `count`: targets scraped first, then the api creates them. */
    async function grow(count: number) {
      const created: Application[] = [];
      const fresh: { name: string; machines: Machine[] }[] = [];
      for (let index = apps.length; index < count; index++) {
        const name = `health-${String(index).padStart(3, '0')}`;
        const ports = machines.ports.slice(index * machinesPerApp, (index + 1) * machinesPerApp);
        fresh.push({
          name,
          machines: ports.map((port, i) => ({
            id: `m${String(i + 1).padStart(3, '0')}`,
            host: '127.0.0.1',
            port,
            version,
            status: 'healthy',
            status_reason: 'answers its health check and Prometheus scrapes it',
            status_since: Date.now(),
            labels: {},
          })),
        });
      }
      // Prometheus scrapes every machine before its watcher's first check: `up` is 1 from it.
      await Promise.all(fresh.map((app) => writeTargets(prometheus.targetsDir, app)));
      const want = count * machinesPerApp;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const up = (await prometheus.query('count(up == 1)')) ?? 0;
        if (up >= want) break;
        if (Date.now() > deadline) throw new Error(`Prometheus scrapes ${up} of ${want} machines`);
        await delay(500);
      }
      for (const app of fresh) {
        created.push(
          await api<Application>(stack, 'POST', '/api/v1/applications', {
            name: app.name,
            deploy_path: path.join(os.tmpdir(), 'relguard-bench-health', app.name),
            start_cmd: 'exec sleep 3600',
            // With a stop_cmd the local platform judges by the health check alone.
            stop_cmd: 'true',
            machines: app.machines,
            health_check: { path: healthPath },
            health: { interval_seconds: intervalSeconds, failures_before_error: 2 },
            rollback_policy: { enabled: false },
          }),
        );
      }
      apps.push(...created);
      // Warm: every new watcher has checked twice (one whole interval in between).
      const warmDeadline = Date.now() + 120_000 + intervalSeconds * 2000;
      for (const app of created) {
        for (;;) {
          const checks = await watcher(app)
            .query(appHealthQuery)
            .then(
              (view) => view.checks,
              () => 0,
            );
          if (checks >= 2) break;
          if (Date.now() > warmDeadline) throw new Error(`${app.name}'s watcher did not check`);
          await delay(250);
        }
      }
    }

    /** One window: the worker's CPU, the other processes', the watchers' checks and history. */
    async function measure(label: string, seconds: number) {
      const before = await Promise.all(apps.map(snapshot));
      const ticks0 = processTicks();
      const threads0 = threadMs();
      const host0 = hostBusyMs();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const wall0 = Date.now();
      await delay(seconds * 1000);
      const cpu = process.cpuUsage(cpu0);
      const windowMs = performance.now() - t0;
      const ticks1 = processTicks();
      const threads1 = threadMs();
      const hostMs = hostBusyMs() - host0;
      const wall1 = Date.now();
      const after = await Promise.all(apps.map(snapshot));

      const workerCpuMs = (cpu.user + cpu.system) / 1000;
      const share = (ms: number) => ms / (windowMs * cores);
      const others = cpuByProcess(ticks0, ticks1, names);
      // What else ran on the host meanwhile (another test run, say): the figures are shared.
      const elsewhereMs = Math.max(
        0,
        hostMs - workerCpuMs - Object.values(others).reduce((sum, ms) => sum + ms, 0),
      );
      const checks = after.reduce((sum, s, i) => sum + s.checks - before[i]!.checks, 0);
      const events = after.reduce((sum, s, i) => sum + s.events - before[i]!.events, 0);
      const bytes = after.reduce((sum, s, i) => sum + s.bytes - before[i]!.bytes, 0);
      const idealChecks = (windowMs / 1000 / intervalSeconds) * apps.length;
      // The rate, free of the window's edges: checks between each watcher's first and last
      // check seen, against the time between them.
      let spanChecks = 0;
      let spanMs = 0;
      after.forEach((s, i) => {
        const first = before[i]!;
        if (s.lastCheckAt === undefined || first.lastCheckAt === undefined) return;
        spanChecks += s.checks - first.checks;
        spanMs += s.lastCheckAt - first.lastCheckAt;
      });
      const perAppHour = (n: number) =>
        apps.length === 0 ? 0 : (n / apps.length / windowMs) * 3_600_000;

      // From the histories: how long each check took, and whether anything was written.
      const checkMs: number[] = [];
      const written = { record: 0, announce: 0 };
      const histories = await Promise.all(apps.map((app) => watcher(app).fetchHistory()));
      for (const history of histories) {
        const scheduled = new Map<string, { name: string; at: number }>();
        for (const event of history.events ?? []) {
          const at =
            Number(event.eventTime?.seconds ?? 0) * 1000 +
            Math.round((event.eventTime?.nanos ?? 0) / 1e6);
          const scheduledAttributes = event.activityTaskScheduledEventAttributes;
          if (scheduledAttributes) {
            const name = scheduledAttributes.activityType?.name ?? '';
            scheduled.set(String(event.eventId), { name, at });
            if (at >= wall0 && at < wall1) {
              if (name === 'recordMachineStatuses') written.record += 1;
              if (name === 'announceMachineHealth') written.announce += 1;
            }
          }
          const completed = event.activityTaskCompletedEventAttributes;
          if (completed) {
            const start = scheduled.get(String(completed.scheduledEventId));
            if (start?.name === 'checkMachines' && start.at >= wall0 && at < wall1) {
              checkMs.push(at - start.at);
            }
          }
        }
      }
      const statuses: Record<string, number> = {};
      for (const app of await stack.testStore.store.applications.list()) {
        for (const machine of app.machines) {
          statuses[machine.status] = (statuses[machine.status] ?? 0) + 1;
        }
      }

      const result = {
        phase: label,
        apps: apps.length,
        machines: apps.length * machinesPerApp,
        window_ms: Math.round(windowMs),
        worker_cpu_ms: Math.round(workerCpuMs),
        worker_cpu_share: round(share(workerCpuMs), 4),
        worker_threads_cpu_share: {
          main: round(share(threads1.main - threads0.main), 4),
          core: round(share(threads1.core - threads0.core), 4),
          other: round(share(threads1.other - threads0.other), 4),
        },
        checks,
        checks_ideal: round(idealChecks, 1),
        checks_ratio: idealChecks === 0 ? null : round(checks / idealChecks, 3),
        check_period_ms: spanChecks === 0 ? null : Math.round(spanMs / spanChecks),
        check_rate_ratio:
          spanChecks === 0 ? null : round((spanChecks * intervalSeconds * 1000) / spanMs, 3),
        machine_checks: checks * machinesPerApp,
        worker_cpu_ms_per_machine_check:
          checks === 0 ? null : round(workerCpuMs / (checks * machinesPerApp), 3),
        history_events: events,
        history_events_per_app_hour: Math.round(perAppHour(events)),
        history_bytes_per_app_hour: Math.round(perAppHour(bytes)),
        history_events_per_check: checks === 0 ? null : round(events / checks, 2),
        check_p50_ms: checkMs.length === 0 ? null : percentile(checkMs, 50),
        check_p99_ms: checkMs.length === 0 ? null : percentile(checkMs, 99),
        status_writes: written.record,
        alerts_sent: written.announce,
        statuses,
        other_cpu_share: Object.fromEntries(
          Object.entries(others)
            .filter(([, ms]) => ms > 0)
            .sort(([, a], [, b]) => b - a)
            .map(([name, ms]) => [name, round(share(ms), 4)]),
        ),
        rest_of_host_cpu_share: round(share(elsewhereMs), 4),
        worker_rss_mb: round(process.memoryUsage().rss / 1024 / 1024, 1),
      };
      const pct = (value: number) => `${round(value * 100, 2)}%`;
      console.log(
        `${label}: ${result.machines} machines in ${result.apps} apps, ${round(windowMs / 1000, 1)} s: ` +
          `worker CPU ${result.worker_cpu_ms} ms = ${pct(result.worker_cpu_share)} of ${cores} cores` +
          (checks === 0
            ? ''
            : `, ${checks} checks of ${result.checks_ideal} ideal (${result.checks_ratio}; ` +
              `one every ${result.check_period_ms} ms: ${result.check_rate_ratio} of the rate), ` +
              `${result.worker_cpu_ms_per_machine_check} ms CPU per machine check, ` +
              `check p50 ${result.check_p50_ms} ms p99 ${result.check_p99_ms} ms, ` +
              `${result.history_events_per_check} history events per check ` +
              `(${result.history_events_per_app_hour} per app per hour, ` +
              `${round(result.history_bytes_per_app_hour / 1024, 1)} KiB), ` +
              `${written.record} status writes, ${written.announce} alerts; ` +
              `statuses ${JSON.stringify(statuses)}`),
      );
      const threads = result.worker_threads_cpu_share;
      console.log(
        `  worker threads: main ${pct(threads.main)}, SDK core ${pct(threads.core)}, ` +
          `workflow and helpers ${pct(threads.other)}; other processes: ${Object.entries(
            result.other_cpu_share,
          )
            .map(([name, value]) => `${name} ${pct(value)}`)
            .join(', ')}; the rest of the host ${pct(result.rest_of_host_cpu_share)}; ` +
          `worker RSS ${result.worker_rss_mb} MB`,
      );
      return result;
    }

    const phases = [];
    if (idleSeconds > 0) phases.push(await measure('idle', idleSeconds));
    if (smallApps > 0 && smallApps < appCount) {
      await grow(smallApps);
      phases.push(await measure('small', windowSeconds));
    }
    await grow(appCount);
    phases.push(await measure('full', windowSeconds));

    const full = phases.at(-1)!;
    const small = phases.find((phase) => phase.phase === 'small');
    const idle = phases.find((phase) => phase.phase === 'idle');
    const pct = (value: number | undefined) =>
      value === undefined ? '—' : `${round(value * 100, 2)}% of ${cores} cores`;
    const none = '—';
    const fleet = (phase: typeof full) =>
      `${phase.machines.toLocaleString('en-US')} machines (${phase.apps} apps x ${machinesPerApp}, every ${intervalSeconds} s)`;
    const rows: SummaryRow[] = [
      {
        bench: 'health',
        measured: `worker CPU watching ${fleet(full)}`,
        figure: `${pct(full.worker_cpu_share)}, ${full.worker_cpu_ms_per_machine_check} ms per machine check`,
        baseline: idle === undefined ? none : `idle ${pct(idle.worker_cpu_share)}`,
        ratio:
          idle === undefined
            ? none
            : String(round(full.worker_cpu_share / idle.worker_cpu_share, 1)),
        target: none,
        met: none,
      },
      {
        bench: 'health',
        measured: `checks done in ${round(full.window_ms / 1000, 1)} s (check p50 ${full.check_p50_ms} ms, p99 ${full.check_p99_ms} ms)`,
        figure: `${full.checks} (one every ${full.check_period_ms} ms per app)`,
        baseline: `ideal ${full.checks_ideal} (window / interval x apps)`,
        ratio: `${full.checks_ratio} (rate ${full.check_rate_ratio})`,
        target: none,
        met: none,
      },
      {
        bench: 'health',
        measured: 'history events per application per hour',
        figure: `${full.history_events_per_app_hour.toLocaleString('en-US')} (${full.history_events_per_check} per check, ${round(full.history_bytes_per_app_hour / 1024, 1)} KiB)`,
        baseline: none,
        ratio: none,
        target: none,
        met: none,
      },
    ];
    if (small !== undefined && small.worker_cpu_ms_per_machine_check !== null) {
      rows.push({
        bench: 'health',
        measured: `worker CPU per machine check, ${fleet(full)} against ${fleet(small)}`,
        figure: `${full.worker_cpu_ms_per_machine_check} ms`,
        baseline: `${small.worker_cpu_ms_per_machine_check} ms (${pct(small.worker_cpu_share)})`,
        ratio: String(
          round(full.worker_cpu_ms_per_machine_check! / small.worker_cpu_ms_per_machine_check, 3),
        ),
        target: none,
        met: none,
      });
    }
    console.log(`\n${markdownTable(rows)}\n`);
    console.log(
      JSON.stringify({
        bench: 'health',
        cores,
        interval_seconds: intervalSeconds,
        scrape_seconds: scrapeSeconds,
        machines_per_app: machinesPerApp,
        phases,
      }),
    );
  }
}

// Last: the functions above use the module's constants.
if (values['serve-machines'] !== undefined) {
  await serveMachines(Number(values['serve-machines']));
} else {
  await bench();
}
