import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer } from '../support/temporal';
import { deployed, fleet as fleetOn, type FleetOptions } from './fleet';
import { runRelease } from './run-release';

/**
 * The release workflow when machines fail, on the dev server. A failing machine cancels the
 * deploys still in flight; the time-skipping server mishandles a cancel that races an
 * activity's start or completion and leaves the workflow task hanging (temporalio/sdk-java
 * #2391), which the real server does not. No bake or interval here: real time passes.
 */
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServer();
});
afterAll(async () => {
  await env?.teardown();
});

const fleet = (options: FleetOptions) =>
  fleetOn(
    { ...options, pacer: { gray_bake_seconds: 0, interval_seconds: 0, ...options.pacer } },
    (ms) => env.sleep(ms),
  );

describe('releaseWorkflow when machines fail', () => {
  it('rolls back when a machine fails, naming it', async () => {
    const fake = fleet({ machines: 4, batches: [['m1'], ['m2', 'm3'], ['m4']], failing: ['m3'] });
    const { result, finalStatus } = await runRelease(env, fake);
    expect(result.status).toBe('rolled_back');
    expect(finalStatus).toBe('rolled_back');
    expect(result.reason).toMatch(/m3 failed to deploy v2: m3 never got healthy/);
    expect(
      fake.events
        .filter((e) => e.what === 'rollback')
        .map((e) => e.machine)
        .sort(),
    ).toEqual(['m1', 'm2', 'm3']);
    expect(deployed(fake.events)).not.toContain('m4');
    expect(fake.attempts.get('m3')).toBe(1);
    expect(fake.analyses).toEqual([
      expect.objectContaining({ trigger: 'rollback', reason: result.reason }),
    ]);
  });

  it('retries a deploy whose attempt was lost, and the machine is deployed once', async () => {
    const fake = fleet({ machines: 2, batches: [['m1'], ['m2']], flaky: ['m2'] });
    const { result } = await runRelease(env, fake);
    expect(result.status).toBe('succeeded');
    expect(fake.attempts.get('m2')).toBe(2);
    expect(deployed(fake.events)).toEqual(['m1', 'm2']);
  });
});
