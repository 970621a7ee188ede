/**
 * Throughput: releases of many applications at once on one worker. Each application has a few
 * machines of the local platform (a start_cmd that sleeps; one HTTP server of the bench answers
 * their health checks once their start_cmd has run) and the same small pacer. First one such
 * release runs alone, then --releases of them start at once; the ratio is the makespan of the
 * crowd (first start asked to last `succeeded` written) against the lone release's duration.
 * 1.0 would mean the worker runs them all side by side at no cost.
 *
 *   npx tsx bench/throughput.ts [--releases 50] [--machines 4]
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Application, PacerConfig } from '../domain';
import { startReleaseStack } from '../test/support/release-stack';
import {
  createFleetApp,
  createTinyRepo,
  percentile,
  removeFleetApp,
  round,
  runRelease,
  sleepingStartCmd,
  startHealthResponder,
  type FleetApp,
} from './support/fleet';

const { values } = parseArgs({
  options: {
    releases: { type: 'string', default: '50' },
    machines: { type: 'string', default: '4' },
  },
});
const releases = Number(values.releases);
const machinesPerApp = Number(values.machines);
const version = 'v1.0.0';
// Gray, a bake, then the rest two at a time with an interval: a small release of its own.
const pacer: Partial<PacerConfig> = { batch_size: 2, interval_seconds: 1, gray_bake_seconds: 1 };

const stack = await startReleaseStack();
const repo = await createTinyRepo(version);
const responder = await startHealthResponder((releases + 1) * machinesPerApp);
const fleets: FleetApp[] = [];

/** An application on the next `machinesPerApp` ports of the responder. */
async function fleetApp(index: number, packageFrom?: Application): Promise<FleetApp> {
  const fleet = await createFleetApp(stack, {
    name: `throughput-${String(index).padStart(3, '0')}`,
    repo,
    version,
    ports: responder.ports.slice(index * machinesPerApp, (index + 1) * machinesPerApp),
    startCmd: sleepingStartCmd,
    pacer,
    // One build is enough: the others get its package uploaded.
    ...(packageFrom === undefined ? {} : { packageFrom }),
  });
  fleets.push(fleet);
  fleet.app.machines.forEach((machine) =>
    responder.assign(machine.port, path.join(fleet.deployPath, machine.id)),
  );
  return fleet;
}

try {
  const lone = await fleetApp(0);
  const crowd: FleetApp[] = [];
  for (let i = 1; i <= releases; i++) crowd.push(await fleetApp(i, lone.app));

  const single = await runRelease(stack, lone.app, version);
  const singleMs = single.endedAt - single.startedAt;
  console.log(`one release alone (${machinesPerApp} machines): ${singleMs} ms`);

  const runs = await Promise.all(crowd.map((fleet) => runRelease(stack, fleet.app, version)));
  const first = Math.min(...runs.map((run) => run.startedAt));
  const last = Math.max(...runs.map((run) => run.endedAt));
  const makespanMs = last - first;
  const durations = runs.map((run) => run.endedAt - run.startedAt);
  const result = {
    bench: 'throughput',
    releases,
    machines_per_release: machinesPerApp,
    makespan_ms: makespanMs,
    single_ms: singleMs,
    ratio: round(makespanMs / singleMs, 3),
    releases_per_minute: round((releases / makespanMs) * 60_000, 1),
    p50_ms: percentile(durations, 50),
    p99_ms: percentile(durations, 99),
  };
  console.log(
    `${releases} releases at once: makespan ${makespanMs} ms, ${result.ratio}x one alone, ` +
      `${result.releases_per_minute} releases/min; per release p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms`,
  );
  console.log(JSON.stringify(result));
} finally {
  for (const fleet of fleets) await removeFleetApp(stack, fleet).catch(() => undefined);
  await responder.close();
  await stack.stop();
  await rm(repo, { recursive: true, force: true });
}
