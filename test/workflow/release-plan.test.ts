import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PacerConfig, planBatches } from '../../domain';
import { startTimeSkipping } from '../support/temporal';
import { deployed, fleet } from './fleet';
import { runRelease } from './run-release';

/**
 * The plan the api makes (planBatches over percentages, a gray machine that is not the first)
 * carried out by the release workflow on the time-skipping server, over the in-memory fleet:
 * the order machines are deployed in and the server times between them.
 */
let env: TestWorkflowEnvironment;

beforeEach(async () => {
  env = await startTimeSkipping();
});
afterEach(async () => {
  await env?.teardown();
});

describe('releaseWorkflow with a planned percentage rollout', () => {
  it('deploys the gray m3 first, then 25%, 50% and 100% of 8 machines, paced', async () => {
    const pacer = {
      batches: [25, 50, 100],
      gray_bake_seconds: 300,
      interval_seconds: 60,
      max_parallel: 2,
    };
    const machineIds = Array.from({ length: 8 }, (_, i) => `m${i + 1}`);
    const plan = planBatches(
      machineIds.map((id) => ({ id })),
      PacerConfig.parse(pacer),
      'm3',
    );
    const deploySeconds = 10;
    const fake = fleet(
      {
        machines: 8,
        batches: [[plan.grayMachineId], ...plan.batches],
        pacer,
        deploySeconds,
      },
      (ms) => env.sleep(ms),
    );
    const { result, finalStatus } = await runRelease(env, fake);
    expect(result).toEqual({ status: 'succeeded', undelivered_alerts: [] });
    expect(finalStatus).toBe('succeeded');

    // Gray alone, then 2, 4 and 8 machines in all; each machine deployed once.
    const order = deployed(fake.events);
    expect([
      order.slice(0, 1),
      order.slice(1, 2),
      order.slice(2, 4).sort(),
      order.slice(4).sort(),
    ]).toEqual([['m3'], ['m1'], ['m2', 'm4'], ['m5', 'm6', 'm7', 'm8']]);
    expect([...fake.attempts.values()]).toEqual(machineIds.map(() => 1));

    // Server times at which the workflow started each deploy.
    const at = (machine: string) => fake.events.find((e) => e.machine === machine)!.at;
    const deployMs = deploySeconds * 1000;
    const slackMs = 5_000;
    // The gray deploy, then the 300 s bake.
    expect(at('m1') - at('m3')).toBeGreaterThanOrEqual(deployMs + 300_000);
    expect(at('m1') - at('m3')).toBeLessThan(deployMs + 300_000 + slackMs);
    // Batch 1 (m1), 60 s, batch 2 (m2 and m4 at once: max_parallel is 2).
    const batch2 = [at('m2'), at('m4')];
    expect(Math.max(...batch2) - Math.min(...batch2)).toBeLessThan(slackMs);
    expect(Math.min(...batch2) - at('m1')).toBeGreaterThanOrEqual(deployMs + 60_000);
    expect(Math.min(...batch2) - at('m1')).toBeLessThan(deployMs + 60_000 + slackMs);
    // 60 s, batch 3: four machines, two at a time, so two waves one deploy apart.
    const batch3 = ['m5', 'm6', 'm7', 'm8'].map(at).sort((a, b) => a - b);
    expect(batch3[0]! - Math.max(...batch2)).toBeGreaterThanOrEqual(deployMs + 60_000);
    expect(batch3[0]! - Math.max(...batch2)).toBeLessThan(deployMs + 60_000 + slackMs);
    expect(batch3[1]! - batch3[0]!).toBeLessThan(slackMs);
    expect(batch3[2]! - batch3[0]!).toBeGreaterThanOrEqual(deployMs);
    expect(batch3[3]! - batch3[2]!).toBeLessThan(slackMs);

    // Verifying during the gray bake only; the intervals between batches are part of deploying.
    expect(fake.statuses).toEqual(['deploying', 'verifying', 'deploying', 'succeeded']);
  });
});
