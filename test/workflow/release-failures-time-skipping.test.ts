import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MachineRequest } from '../../activities';
import type { DeployResult } from '../../activities/platform/types';
import { startTimeSkipping } from '../support/temporal';
import { deployed, fleet as fleetOn, type FleetOptions } from './fleet';
import { runRelease, type ReleaseHandle } from './run-release';

/**
 * A failing machine and a retried deploy on the time-skipping server. The releases are shaped
 * so that no deploy is in flight when a machine fails (one machine at a time, the failing one
 * last in its batch): the rollback cancels no activity, so the test server's hang on a cancel
 * that races an activity (temporalio/sdk-java#2391) cannot happen. The paths that do cancel
 * deploys in flight run on the dev server (release-failures.test.ts).
 */
let env: TestWorkflowEnvironment;

// A test server per test: a rollback starts the analysis, a child the release abandons, and
// the test server then stops skipping time for whatever runs after it.
beforeEach(async () => {
  env = await startTimeSkipping();
});
afterEach(async () => {
  await env?.teardown();
});

const fleet = (options: FleetOptions) =>
  fleetOn({ ...options, pacer: { max_parallel: 1, ...options.pacer } }, (ms) => env.sleep(ms));

/** The deployMachine activities of the release's history: the machine and its last attempt. */
async function deployAttempts(handle: ReleaseHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const machineOf = new Map<string, string>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== 'deployMachine') continue;
    const request = defaultPayloadConverter.fromPayload<MachineRequest>(
      scheduled.input!.payloads![0]!,
    );
    machineOf.set(String(event.eventId), request.machineId);
  }
  const attempts = new Map<string, number>();
  for (const event of events) {
    const started = event.activityTaskStartedEventAttributes;
    const machine = machineOf.get(String(started?.scheduledEventId));
    if (machine !== undefined) attempts.set(machine, started!.attempt!);
  }
  return {
    scheduled: [...machineOf.values()],
    attempts,
    cancelRequests: events.filter((event) => event.activityTaskCancelRequestedEventAttributes)
      .length,
  };
}

describe('releaseWorkflow when a machine fails, on the time-skipping server', () => {
  it('stops rolling forward and rolls every touched machine back to the previous version', async () => {
    const fake = fleet({
      machines: 5,
      batches: [['m1'], ['m2', 'm3'], ['m4', 'm5']],
      failing: ['m3'],
      previousVersion: 'v1.4.2',
    });
    const { result, finalStatus, handle } = await runRelease(env, fake);
    expect(result).toEqual({
      status: 'rolled_back',
      reason: 'machine m3 failed to deploy v2: m3 never got healthy',
      undelivered_alerts: [],
    });
    expect(finalStatus).toBe('rolled_back');

    // Forward: the gray machine, the 300 s bake, m2, then m3 failed once (not retried).
    expect(deployed(fake.events)).toEqual(['m1', 'm2']);
    const at = (what: string, machine: string) =>
      fake.events.find((e) => e.what === what && e.machine === machine)!.at;
    expect(at('deploy', 'm2') - at('deploy', 'm1')).toBeGreaterThanOrEqual(300_000);
    expect(fake.attempts.get('m3')).toBe(1);

    // Back: every touched machine, the failed one too, after the last deploy; m4 and m5 were
    // never asked to deploy.
    const rolledBack = fake.events.filter((e) => e.what === 'rollback');
    expect(rolledBack.map((e) => e.machine).sort()).toEqual(['m1', 'm2', 'm3']);
    const lastDeploy = fake.events.findLastIndex((e) => e.what === 'deploy');
    expect(fake.events.findIndex((e) => e.what === 'rollback')).toBeGreaterThan(lastDeploy);
    expect(
      Math.max(...rolledBack.map((e) => e.at)) - Math.min(...rolledBack.map((e) => e.at)),
    ).toBeLessThan(5_000);
    expect(Object.fromEntries(fake.installed)).toEqual({
      m1: 'v1.4.2',
      m2: 'v1.4.2',
      m3: 'v1.4.2',
    });
    expect(fake.attempts.has('m4')).toBe(false);
    expect(fake.attempts.has('m5')).toBe(false);

    expect(fake.statuses).toEqual([
      'deploying',
      'verifying',
      'deploying',
      'rolling_back',
      'rolled_back',
    ]);
    expect(fake.finished).toEqual(['rolled_back']);
    expect(fake.rollbacks).toEqual([
      expect.objectContaining({ reason: result.reason, requested_by: 'relguard' }),
    ]);
    expect(fake.analyses).toEqual([
      expect.objectContaining({ trigger: 'rollback', reason: result.reason }),
    ]);
    // The shape of this release kept every deploy out of flight when m3 failed.
    const history = await deployAttempts(handle);
    expect(history.scheduled).toEqual(['m1', 'm2', 'm3']);
    expect(history.cancelRequests).toBe(0);
  });

  it('rolls back the gray machine alone when it fails: no bake, no batch', async () => {
    const fake = fleet({ machines: 3, batches: [['m1'], ['m2', 'm3']], failing: ['m1'] });
    const { result, handle } = await runRelease(env, fake);
    expect(result).toEqual({
      status: 'rolled_back',
      reason: 'machine m1 failed to deploy v2: m1 never got healthy',
      undelivered_alerts: [],
    });
    expect(fake.events.map((e) => `${e.what} ${e.machine}`)).toEqual(['rollback m1']);
    expect(Object.fromEntries(fake.installed)).toEqual({ m1: fake.plan.previousVersion });
    expect([...fake.attempts.keys()]).toEqual(['m1']);
    expect(fake.statuses).toEqual(['deploying', 'rolling_back', 'rolled_back']);
    expect((await deployAttempts(handle)).cancelRequests).toBe(0);
  });
});

describe('releaseWorkflow retrying a deploy, on the time-skipping server', () => {
  it('retries a deploy whose first attempt failed before deploying', async () => {
    const fake = fleet({ machines: 3, batches: [['m1'], ['m2'], ['m3']], flaky: ['m2'] });
    const { result, handle } = await runRelease(env, fake);
    expect(result).toEqual({ status: 'succeeded', undelivered_alerts: [] });
    expect(fake.attempts.get('m2')).toBe(2);
    expect(deployed(fake.events)).toEqual(['m1', 'm2', 'm3']);
    expect(Object.fromEntries(fake.installed)).toEqual({ m1: 'v2', m2: 'v2', m3: 'v2' });
    expect(fake.events.some((e) => e.what === 'rollback')).toBe(false);
    // Temporal retried the activity (attempt 2 of the one scheduled), not the workflow.
    const history = await deployAttempts(handle);
    expect(history.scheduled).toEqual(['m1', 'm2', 'm3']);
    expect(Object.fromEntries(history.attempts)).toEqual({ m1: 1, m2: 2, m3: 1 });
  });

  it('retries a deploy whose attempt deployed then failed: the retry leaves the machine alone', async () => {
    const fake = fleet({ machines: 3, batches: [['m1'], ['m2'], ['m3']] });
    const deploy = fake.activities.deployMachine!;
    const outcomes: DeployResult[] = [];
    // The worker dies after the machine was deployed and before the outcome reached Temporal.
    fake.activities.deployMachine = async (request: MachineRequest) => {
      const outcome = await deploy(request);
      outcomes.push(outcome);
      if (request.machineId === 'm2' && fake.attempts.get('m2') === 1) {
        throw new Error('worker lost after deploying');
      }
      return outcome;
    };
    const { result, handle } = await runRelease(env, fake);
    expect(result).toEqual({ status: 'succeeded', undelivered_alerts: [] });
    expect(fake.attempts.get('m2')).toBe(2);
    expect(outcomes.filter((outcome) => outcome.machine_id === 'm2')).toEqual([
      { machine_id: 'm2', version: 'v2', changed: true },
      { machine_id: 'm2', version: 'v2', changed: false },
    ]);
    // Deployed once in effect: one deploy recorded for m2, and it ends on the target version.
    expect(deployed(fake.events)).toEqual(['m1', 'm2', 'm3']);
    expect(fake.installed.get('m2')).toBe('v2');
    expect(fake.statuses).toEqual(['deploying', 'verifying', 'deploying', 'succeeded']);
    const history = await deployAttempts(handle);
    expect(history.scheduled).toEqual(['m1', 'm2', 'm3']);
    expect(Object.fromEntries(history.attempts)).toEqual({ m1: 1, m2: 2, m3: 1 });
  });
});
