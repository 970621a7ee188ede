/**
 * Orchestration overhead at scale: a release of an application on the local platform over 10,
 * 100 and 1,000 machines, each machine deployed for real (package built by relguard from a git
 * repository, fetched over HTTP, MD5 verified, unpacked, started, health-checked), against the
 * ideal time the pacer allows. Also the worker's memory and the release workflow's history.
 *
 *   ideal = gray_bake_seconds + interval_seconds x (batches after the gray one - 1)
 *           + for each batch the slowest machine's finished_at - started_at
 *
 * A machine's started_at..finished_at (activities/release.ts, deployMachine) covers the
 * platform's whole deploy of it: the package URL, the download and its MD5 check, unpacking,
 * stopping the old version, switching, starting and waiting for the health check, pruning. It
 * leaves out what relguard spends around it: the workflow scheduling the activity, the worker
 * picking it up, reading the deployment and the application, the MongoDB writes of the
 * machine's status, the Prometheus targets file, the activity's completion reaching the
 * workflow. That, the pacer's timers firing late and the release's start and end are the
 * overhead: ratio = wall / ideal.
 *
 * Small fleets (up to --real-up-to machines) run the demo application (`node main.js`, the
 * mockserver); larger ones a start_cmd that sleeps, whose health checks one HTTP server of the
 * bench answers on one port per machine once that machine's start_cmd has run. The worker runs
 * in this process, so its memory is sampled here (it includes the bench's api and HTTP server).
 *
 *   npx tsx bench/release-scale.ts [--sizes 10,100,1000] [--interval 2] [--bake 2]
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { PacerConfig } from '../domain';
import { createDemoRepo } from '../test/support/demo-repo';
import { freePort } from '../test/support/free-port';
import { startReleaseStack } from '../test/support/release-stack';
import {
  createFleetApp,
  createTinyRepo,
  machineMs,
  nodesByBatch,
  removeFleetApp,
  round,
  runRelease,
  sleepingStartCmd,
  startHealthResponder,
  type FleetApp,
  type HealthResponder,
} from './support/fleet';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,100,1000' },
    interval: { type: 'string', default: '2' },
    bake: { type: 'string', default: '2' },
    'real-up-to': { type: 'string', default: '10' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const realUpTo = Number(values['real-up-to']);
const version = 'v1.0.0';
const pacer: Partial<PacerConfig> = {
  batches: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
  interval_seconds: Number(values.interval),
  gray_bake_seconds: Number(values.bake),
};
const targets: Record<number, number> = { 100: 1.1, 1000: 1.25 };
/** Temporal's per-workflow history limits (the server's defaults), and where it warns. */
const historyLimits = { events: 51_200, warnEvents: 10_240, bytes: 50 * 1024 * 1024 };

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

/** process.memoryUsage() every 100 ms while a release runs: the peak and the baseline. */
function memorySampler() {
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return { baseline, peakRss, peakHeap };
    },
  };
}

const stack = await startReleaseStack();
const tinyRepo = await createTinyRepo(version);
const demoRepo = sizes.some((size) => size <= realUpTo)
  ? await createDemoRepo([{ tag: version }])
  : undefined;
const results: Record<string, unknown>[] = [];
const fleets: FleetApp[] = [];
const responders: HealthResponder[] = [];

try {
  for (const size of sizes) {
    const real = size <= realUpTo;
    let ports: number[];
    let responder: HealthResponder | undefined;
    if (real) {
      ports = [];
      for (let i = 0; i < size; i++) ports.push(await freePort());
    } else {
      responder = await startHealthResponder(size);
      responders.push(responder);
      ports = responder.ports;
    }
    const fleet = await createFleetApp(stack, {
      name: `scale-${size}`,
      repo: real ? demoRepo! : tinyRepo,
      version,
      ports,
      startCmd: real ? 'node main.js' : sleepingStartCmd,
      pacer,
    });
    fleets.push(fleet);
    fleet.app.machines.forEach((machine) =>
      responder?.assign(machine.port, path.join(fleet.deployPath, machine.id)),
    );

    const memory = memorySampler();
    const release = await runRelease(stack, fleet.app, version);
    const { baseline, peakRss, peakHeap } = memory.stop();

    const batches = nodesByBatch(release.deployment);
    const slowest = batches.map((nodes) => Math.max(...nodes.map(machineMs)));
    const waitsMs =
      (pacer.gray_bake_seconds! + pacer.interval_seconds! * Math.max(0, batches.length - 2)) * 1000;
    const idealMs = waitsMs + slowest.reduce((sum, ms) => sum + ms, 0);
    const wallMs = release.endedAt - release.startedAt;
    const ratio = wallMs / idealMs;
    const target = targets[size] ?? null;

    // Where the overhead went: before the gray machine, machines of a batch not starting
    // together, the time between batches beyond the pacer's wait, after the last machine.
    const firstStart = (nodes: (typeof batches)[number]) =>
      Math.min(...nodes.map((n) => n.started_at!));
    const lastFinish = (nodes: (typeof batches)[number]) =>
      Math.max(...nodes.map((n) => n.finished_at!));
    const headMs = firstStart(batches[0]!) - release.startedAt;
    const skewMs = batches.reduce(
      (sum, nodes, i) => sum + (lastFinish(nodes) - firstStart(nodes) - slowest[i]!),
      0,
    );
    let gapMs = 0;
    for (let i = 1; i < batches.length; i++) {
      const waitMs = (i === 1 ? pacer.gray_bake_seconds! : pacer.interval_seconds!) * 1000;
      gapMs += firstStart(batches[i]!) - lastFinish(batches[i - 1]!) - waitMs;
    }
    const tailMs = release.endedAt - lastFinish(batches[batches.length - 1]!);

    const handle = stack.temporal.client.workflow.getHandle(release.workflowId);
    const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
    const events = history.events?.length ?? 0;
    const historyBytes = description.historySize ?? 0;
    const eventTypes = new Map<string, number>();
    for (const event of history.events ?? []) {
      const type = String(event.eventType ?? 'unknown');
      eventTypes.set(type, (eventTypes.get(type) ?? 0) + 1);
    }

    const machineTimes = release.deployment.node_deployments.map(machineMs);
    console.log(
      `${size} machines (${real ? 'node main.js' : 'sleeping start_cmd'}), ${batches.length} batches: ` +
        `wall ${wallMs} ms, ideal ${idealMs} ms (waits ${waitsMs} + slowest machines ${idealMs - waitsMs}), ` +
        `ratio ${round(ratio, 3)}${target === null ? '' : ` (target <= ${target})`}`,
    );
    console.log(
      `  overhead ${wallMs - idealMs} ms: before the gray machine ${headMs}, within batches ${skewMs}, ` +
        `between batches ${gapMs}, after the last machine ${tailMs}; ` +
        `one machine takes ${Math.min(...machineTimes)}..${Math.max(...machineTimes)} ms`,
    );
    console.log(
      `  history: ${events} events (${round(events / size, 2)} per machine), ${historyBytes} bytes; ` +
        `limits ${historyLimits.events} events (warning at ${historyLimits.warnEvents}), ${mb(historyLimits.bytes)} MB` +
        (events > historyLimits.warnEvents ? ' — ABOVE THE WARNING' : ''),
    );
    console.log(
      `  worker process memory: rss ${mb(baseline.rss)} -> peak ${mb(peakRss)} MB (+${mb(peakRss - baseline.rss)}), ` +
        `heap ${mb(baseline.heapUsed)} -> peak ${mb(peakHeap)} MB (+${mb(peakHeap - baseline.heapUsed)})`,
    );
    console.log(
      `  events by type: ${[...eventTypes].map(([type, count]) => `${type.replace('EVENT_TYPE_', '')} ${count}`).join(', ')}`,
    );
    results.push({
      machines: size,
      start_cmd: real ? 'node main.js' : 'sleep',
      batches: batches.length,
      wall_ms: wallMs,
      ideal_ms: idealMs,
      ratio: round(ratio, 3),
      target,
      meets_target: target === null ? true : ratio <= target,
      overhead_ms: { head: headMs, within_batches: skewMs, between_batches: gapMs, tail: tailMs },
      history_events: events,
      events_per_machine: round(events / size, 2),
      history_bytes: historyBytes,
      history_within_limits:
        events <= historyLimits.warnEvents && historyBytes <= historyLimits.bytes,
      worker_rss_baseline_mb: mb(baseline.rss),
      worker_rss_peak_mb: mb(peakRss),
      worker_rss_growth_mb: mb(peakRss - baseline.rss),
      worker_heap_peak_mb: mb(peakHeap),
      worker_heap_growth_mb: mb(peakHeap - baseline.heapUsed),
    });

    // The next size starts from a quiet host: this fleet's processes are stopped now.
    await removeFleetApp(stack, fleet);
    fleets.splice(fleets.indexOf(fleet), 1);
    await responder?.close();
    if (responder) responders.splice(responders.indexOf(responder), 1);
  }
  console.log(
    JSON.stringify({
      bench: 'release-scale',
      pacer,
      sizes: results,
    }),
  );
} finally {
  for (const fleet of fleets) await removeFleetApp(stack, fleet).catch(() => undefined);
  for (const responder of responders) await responder.close();
  await stack.stop();
  await rm(tinyRepo, { recursive: true, force: true });
  if (demoRepo) await rm(demoRepo, { recursive: true, force: true });
}
