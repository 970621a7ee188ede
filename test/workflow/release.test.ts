import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  approveSignal,
  cancelSignal,
  pauseSignal,
  resumeSignal,
  rollbackSignal,
} from '../../workflows/release/messages';
import { alertAttempts } from '../../domain';
import { startTimeSkipping } from '../support/temporal';
import { deployed, fleet as fleetOn, type FleetOptions } from './fleet';
import { runRelease, until } from './run-release';

/**
 * The release workflow's logic on the time-skipping server. Activities are replaced by an
 * in-memory fleet that records what happened and when (in server time), so bakes and
 * intervals of minutes run in moments. The activities themselves are tested against real
 * machines and storage in test/integration. The paths where a failing machine cancels deploys
 * in flight run on the dev server instead (release-failures.test.ts).
 */
let env: TestWorkflowEnvironment;

// A test server of its own per test: once a release has started its analysis (a child it
// abandons), the test server stops skipping time for whatever runs after it.
beforeEach(async () => {
  env = await startTimeSkipping();
});
afterEach(async () => {
  await env?.teardown();
});

const fleet = (options: FleetOptions) => fleetOn(options, (ms) => env.sleep(ms));

describe('releaseWorkflow', () => {
  it('deploys the gray machine, bakes, then each batch with the interval between', async () => {
    const fake = fleet({ machines: 5, batches: [['m1'], ['m2', 'm3'], ['m4', 'm5']] });
    const { result, finalStatus } = await runRelease(env, fake);
    expect(result).toEqual({ status: 'succeeded', undelivered_alerts: [] });
    expect(finalStatus).toBe('succeeded');
    const order = deployed(fake.events);
    expect([order.slice(0, 1), order.slice(1, 3).sort(), order.slice(3).sort()]).toEqual([
      ['m1'],
      ['m2', 'm3'],
      ['m4', 'm5'],
    ]);

    const at = (machine: string) => fake.events.find((e) => e.machine === machine)!.at;
    const batch1 = Math.max(at('m2'), at('m3'));
    const batch2 = Math.min(at('m4'), at('m5'));
    // Gray, then the 300 s bake, then batch 1 at once, 60 s, then batch 2.
    expect(Math.min(at('m2'), at('m3')) - at('m1')).toBeGreaterThanOrEqual(300_000);
    expect(Math.abs(at('m3') - at('m2'))).toBeLessThan(5_000);
    expect(batch2 - batch1).toBeGreaterThanOrEqual(60_000);
    expect(batch2 - batch1).toBeLessThan(70_000);
    expect(fake.statuses).toEqual(['deploying', 'verifying', 'deploying', 'succeeded']);
    expect(fake.finished).toEqual(['succeeded']);
    expect(fake.analyses).toEqual([]);
  });

  it('deploys at most max_parallel machines of a batch at once', async () => {
    const fake = fleet({
      machines: 5,
      batches: [['m1'], ['m2', 'm3', 'm4', 'm5']],
      pacer: { max_parallel: 2, gray_bake_seconds: 0 },
      deploySeconds: 10,
    });
    await runRelease(env, fake);
    const batch = fake.events.filter((e) => e.machine !== 'm1').map((e) => e.at);
    // Two waves of two, ten seconds apart.
    expect(batch[2]! - batch[0]!).toBeGreaterThanOrEqual(10_000);
    expect(batch[1]! - batch[0]!).toBeLessThan(5_000);
  });

  it('waits for approval after the gray bake when the pacer asks for it', async () => {
    const fake = fleet({
      machines: 2,
      batches: [['m1'], ['m2']],
      pacer: { manual_approval: true, gray_bake_seconds: 30 },
    });
    const { result } = await runRelease(env, fake, async (handle) => {
      const waiting = await until(env, handle, (p) => p.awaitingApproval);
      expect(waiting.phase).toBe('waiting for approval');
      expect(deployed(fake.events)).toEqual(['m1']);
      await handle.signal(approveSignal, { requested_by: 'alice' });
    });
    expect(result.status).toBe('succeeded');
    expect(deployed(fake.events)).toEqual(['m1', 'm2']);
  });

  it('pauses (the bake clock stops) and resumes', async () => {
    const fake = fleet({
      machines: 2,
      batches: [['m1'], ['m2']],
      pacer: { gray_bake_seconds: 120 },
    });
    const { result } = await runRelease(env, fake, async (handle) => {
      await until(env, handle, (p) => p.status === 'verifying');
      await handle.signal(pauseSignal, { requested_by: 'bob' });
      const paused = await until(env, handle, (p) => p.paused);
      expect(paused.status).toBe('paused');
      // A day passes while paused: nothing moves.
      await env.sleep('1 day');
      expect(deployed(fake.events)).toEqual(['m1']);
      await handle.signal(resumeSignal);
    });
    expect(result.status).toBe('succeeded');
    expect(fake.statuses).toEqual([
      'deploying',
      'verifying',
      'paused',
      'verifying',
      'deploying',
      'succeeded',
    ]);
    const at = (machine: string) => fake.events.find((e) => e.machine === machine)!.at;
    expect(at('m2') - at('m1')).toBeGreaterThanOrEqual(24 * 3600_000 + 120_000 - 5_000);
  });

  it('cancels: stops rolling forward and leaves the machines as they are', async () => {
    const fake = fleet({ machines: 3, batches: [['m1'], ['m2'], ['m3']] });
    const { result } = await runRelease(env, fake, async (handle) => {
      await until(env, handle, (p) => p.status === 'verifying');
      await handle.signal(cancelSignal, { reason: 'wrong version', requested_by: 'carol' });
    });
    expect(result).toEqual({
      status: 'cancelled',
      reason: 'wrong version',
      undelivered_alerts: [],
    });
    expect(fake.events.map((e) => `${e.what} ${e.machine}`)).toEqual(['deploy m1']);
    expect(fake.finished).toEqual(['cancelled']);
  });

  it('names an alert no channel took in its result, after every attempt, and still rolls back', async () => {
    const fake = fleet({
      machines: 2,
      batches: [['m1'], ['m2']],
      aiAnalysis: false,
      alertsFailOn: ['oncall'],
    });
    const { result, finalStatus } = await runRelease(env, fake, async (handle) => {
      await until(env, handle, (p) => p.batch === 0 && p.waitingUntil !== undefined);
      await handle.signal(rollbackSignal, { reason: 'error rate 30%', requested_by: 'dave' });
    });
    expect(finalStatus).toBe('rolled_back');
    expect(result).toEqual({
      status: 'rolled_back',
      reason: 'error rate 30%',
      undelivered_alerts: [
        {
          kind: 'rolled_back',
          reason: 'the alert reached 0 of 1 channels; oncall: webhook refused the alert (HTTP 500)',
          channels: ['oncall'],
        },
      ],
    });
    // Tried as often as the workflow allows, then given up on: the release was not held.
    expect(fake.alerts).toEqual(Array.from({ length: alertAttempts }, () => 'rolled_back'));
    expect(fake.finished).toEqual(['rolled_back']);
  });

  it('rolls back every touched machine, in parallel, when asked mid-release', async () => {
    const fake = fleet({ machines: 5, batches: [['m1'], ['m2', 'm3'], ['m4', 'm5']] });
    const { result } = await runRelease(env, fake, async (handle) => {
      await until(env, handle, (p) => p.batch === 1 && p.waitingUntil !== undefined);
      await handle.signal(rollbackSignal, { reason: 'error rate 30%', requested_by: 'dave' });
    });
    expect(result).toEqual({
      status: 'rolled_back',
      reason: 'error rate 30%',
      undelivered_alerts: [],
    });
    const rolledBack = fake.events.filter((e) => e.what === 'rollback');
    expect(rolledBack.map((e) => e.machine).sort()).toEqual(['m1', 'm2', 'm3']);
    expect(
      Math.max(...rolledBack.map((e) => e.at)) - Math.min(...rolledBack.map((e) => e.at)),
    ).toBeLessThan(5_000);
    expect(deployed(fake.events)).not.toContain('m4');
    expect(fake.statuses.slice(-2)).toEqual(['rolling_back', 'rolled_back']);
    expect(fake.finished).toEqual(['rolled_back']);
    // The rollback started the analysis, which the release did not wait for.
    expect(fake.analyses).toEqual([
      expect.objectContaining({
        deploymentId: fake.plan.deploymentId,
        trigger: 'rollback',
        reason: 'error rate 30%',
      }),
    ]);
  });

  it('stops the machines of a first release on rollback: there is nothing to go back to', async () => {
    const fake = fleet({ machines: 2, batches: [['m1'], ['m2']], previousVersion: '' });
    const { result } = await runRelease(env, fake, async (handle) => {
      await until(env, handle, (p) => p.status === 'verifying');
      await handle.signal(rollbackSignal, { reason: 'bad', requested_by: 'erin' });
    });
    expect(result.status).toBe('rolled_back');
    expect(fake.events.map((e) => `${e.what} ${e.machine}`)).toEqual(['deploy m1', 'stop m1']);
  });

  it('starts no analysis on rollback when the policy turns it off', async () => {
    const fake = fleet({ machines: 2, batches: [['m1'], ['m2']], aiAnalysis: false });
    const { result } = await runRelease(env, fake, async (handle) => {
      await until(env, handle, (p) => p.status === 'verifying');
      await handle.signal(rollbackSignal, { reason: 'bad', requested_by: 'erin' });
    });
    expect(result.status).toBe('rolled_back');
    expect(fake.analyses).toEqual([]);
  });

  it('keeps a 1,000-machine release well within the history limits', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `m${i + 1}`);
    const batches = [ids.slice(0, 1)];
    for (let start = 1; start < ids.length; start += 100)
      batches.push(ids.slice(start, start + 100));
    const fake = fleet({
      machines: 1000,
      batches,
      pacer: { gray_bake_seconds: 60, interval_seconds: 10, max_parallel: 50 },
    });
    const { result, historyLength } = await runRelease(env, fake);
    expect(result.status).toBe('succeeded');
    expect(fake.installed.size).toBe(1000);
    // Temporal refuses a history past 51,200 events and warns at 10,240.
    expect(historyLength).toBeLessThan(10_240);
    expect(historyLength / 1000).toBeLessThan(8);
  });
});
