import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { analysisWorkflowId } from '../../domain';
import { releaseWorkflow } from '../../workflows';
import { progressQuery, promoteSignal, resumeSignal } from '../../workflows/release/messages';
import { startTimeSkipping, workflowBundle } from '../support/temporal';
import { fleet, type FleetOptions } from './fleet';

/**
 * The metric guard as a child of a real release on the time-skipping server; its evaluation
 * activity answers the verdicts each test asks for (the evaluation itself is tested against a
 * real Prometheus in test/metrics).
 */
let env: TestWorkflowEnvironment;

// A test server of its own per test: the guard's timers and the release's share one clock,
// and a workflow task one test leaves behind must not hold the next test's.
beforeEach(async () => {
  env = await startTimeSkipping();
});
afterEach(async () => {
  await env?.teardown();
});

type Fleet = ReturnType<typeof fleet>;
type ReleaseHandle = WorkflowHandle<typeof releaseWorkflow>;

async function run(
  options: FleetOptions,
  drive?: (handle: ReleaseHandle, fake: Fleet) => Promise<void>,
) {
  const fake = fleet(options, (ms) => env.sleep(ms));
  const taskQueue = `guard-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fake.activities,
  });
  const workflowId = `release-shop-${randomUUID()}`;
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(releaseWorkflow, {
      taskQueue,
      workflowId,
      args: [{ deploymentId: fake.plan.deploymentId }],
    });
    try {
      if (drive) await drive(handle, fake);
    } catch (error) {
      await handle.terminate('the test failed');
      throw error;
    }
    const result = await handle.result();
    // Let the guard finish its cancellation while the worker runs: a workflow task left
    // pending would hold the shared test server's clock for the next test.
    const guard = env.client.workflow.getHandle(`${workflowId}-guard`);
    for (let i = 0; i < 100; i++) {
      const status = await guard
        .describe()
        .then((d) => d.status.name)
        .catch(() => 'NOT_STARTED');
      if (status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The analysis a rollback started runs on this worker too.
    if (result.status === 'rolled_back') {
      await env.client.workflow.getHandle(analysisWorkflowId(fake.plan.deploymentId)).result();
    }
    return result;
  });
  const guard = env.client.workflow.getHandle(`${workflowId}-guard`);
  return { fake, result, guard };
}

const machines = { machines: 3, batches: [['m1'], ['m2'], ['m3']] };

describe('metricGuardWorkflow', () => {
  it('rolls the release back after consecutive_breaches failing evaluations, with the evidence', async () => {
    const { fake, result } = await run({
      ...machines,
      pacer: { gray_bake_seconds: 600 },
      guard: {
        policy: { interval_seconds: 10, consecutive_breaches: 3, auto_rollback: true },
        // Two passes, a fail, a pass (the count restarts), then three fails.
        verdict: (n) => (n === 3 || n >= 5 ? 'fail' : 'pass'),
      },
    });
    expect(result.status).toBe('rolled_back');
    expect(result.reason).toMatch(/^metric guard: error rate: fail/);
    expect(fake.evaluations).toHaveLength(7);
    expect(fake.events.filter((e) => e.what === 'rollback').map((e) => e.machine)).toEqual(['m1']);
    expect(fake.alerts).toEqual(['rolled_back']);
    const [rollback] = fake.rollbacks;
    expect(rollback?.requested_by).toBe('metric-guard');
    expect(rollback?.failing?.[0]).toMatchObject({ rule: 'error rate above 5%', value: 0.31 });
    expect(rollback?.detected_at).toBe(fake.evaluations[6]?.at);
    // The run of breaches began at the fifth evaluation: the third one's breach was reset.
    expect(rollback?.first_breach_at).toBe(fake.evaluations[4]?.at);
    expect(rollback?.requested_at).toBeGreaterThanOrEqual(rollback?.detected_at ?? Infinity);
    // The analysis starts from the same evidence, looking at the metrics up to the detection.
    expect(fake.analyses).toHaveLength(1);
    expect(fake.analyses[0]?.failing?.[0]).toMatchObject({ rule: 'error rate above 5%' });
    expect(fake.analyses[0]?.at).toBe(rollback?.detected_at);
  });

  it('pauses the release instead when the policy does not roll back by itself', async () => {
    const { fake, result } = await run(
      {
        ...machines,
        pacer: { gray_bake_seconds: 300 },
        guard: {
          policy: { interval_seconds: 10, consecutive_breaches: 2, auto_rollback: false },
          verdict: () => 'fail',
        },
      },
      async (handle, fake) => {
        for (;;) {
          const progress = await handle.query(progressQuery);
          if (progress.paused) {
            expect(progress.reason).toMatch(/^metric guard: /);
            break;
          }
          await env.sleep('5 seconds');
        }
        expect(fake.events.filter((e) => e.what === 'rollback')).toEqual([]);
        // A person looks, decides the release may go on, and resumes it.
        await handle.signal(resumeSignal, { requested_by: 'oncall' });
      },
    );
    expect(fake.statuses).toContain('paused');
    expect(fake.alerts).toEqual(['paused']);
    expect(result.status).toBe('succeeded');
    expect(fake.evaluations).toHaveLength(2);
  });

  it('is cancelled when the release ends', async () => {
    const { result, guard } = await run({
      ...machines,
      pacer: { gray_bake_seconds: 60, interval_seconds: 30 },
      guard: { policy: { interval_seconds: 10 }, verdict: () => 'pass' },
    });
    expect(result.status).toBe('succeeded');
    const description = await guard.describe();
    expect(description.status.name).toBe('CANCELLED');
  });

  it('pauses once when it cannot judge and the policy says pause on no data', async () => {
    const { fake, result } = await run(
      {
        ...machines,
        pacer: { gray_bake_seconds: 120 },
        guard: { policy: { interval_seconds: 10, no_data: 'pause' }, verdict: () => 'no_data' },
      },
      async (handle) => {
        for (;;) {
          if ((await handle.query(progressQuery)).paused) break;
          await env.sleep('5 seconds');
        }
        await env.sleep('60 seconds');
        await handle.signal(resumeSignal);
      },
    );
    expect(result.status).toBe('succeeded');
    expect(fake.alerts).toEqual(['paused']);
    expect(fake.evaluations.length).toBeGreaterThan(3);
  });

  it('warns once, without pausing, when Prometheus is out and the policy ignores missing data', async () => {
    const { fake, result } = await run({
      ...machines,
      pacer: { gray_bake_seconds: 300 },
      guard: {
        policy: { interval_seconds: 10, no_data: 'ignore' },
        // Every query fails from the third evaluation on: an outage, not a quiet service.
        verdict: (n) => (n < 3 ? 'pass' : 'error'),
      },
    });
    expect(result.status).toBe('succeeded');
    expect(fake.alerts).toEqual(['guard_blind']);
  });

  it('says once that it promoted without judging when the policy ignores missing data and only traffic is missing', async () => {
    const { fake, result } = await run({
      ...machines,
      pacer: { gray_bake_seconds: 300 },
      guard: { policy: { interval_seconds: 10, no_data: 'ignore' }, verdict: () => 'no_data' },
    });
    expect(result.status).toBe('succeeded');
    // Every promotion (gray, batches, the verification) went on evaluations without data: one
    // alert says so, not one per promotion.
    expect(fake.alerts).toEqual(['guard_blind']);
  });

  it('continues as new before its history grows large', async () => {
    const { fake, result, guard } = await run({
      ...machines,
      pacer: { gray_bake_seconds: 600 },
      guard: { policy: { interval_seconds: 1 }, verdict: () => 'pass' },
    });
    expect(result.status).toBe('succeeded');
    expect(fake.evaluations.length).toBeGreaterThan(500);
    const history = await guard.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.continuedExecutionRunId).toBeTruthy();
    // Over 600 evaluations, each an activity: minutes on two loaded cores, not seconds.
  }, 180_000);

  describe('promotion waits for the judgement, and the last batch is verified', () => {
    // A pacer much faster than the guard: without the gate, every machine would run the new
    // version before the guard's first evaluation.
    const fast = { gray_bake_seconds: 0, interval_seconds: 0 };
    const guarded = { interval_seconds: 10, consecutive_breaches: 3 };

    it('deploys a batch only after min_judged_evaluations of the machines before it', async () => {
      const { fake, result } = await run({
        ...machines,
        pacer: fast,
        guard: { policy: guarded, verdict: () => 'pass' },
      });
      expect(result.status).toBe('succeeded');
      const deploys = fake.events.filter((event) => event.what === 'deploy');
      expect(deploys.map((event) => event.machine)).toEqual(['m1', 'm2', 'm3']);
      // Between one batch and the next, three evaluations that measured every machine so far.
      for (let batch = 1; batch < deploys.length; batch++) {
        const before = deploys.slice(0, batch).map((event) => event.machine);
        const judged = fake.evaluations.filter(
          (evaluation) =>
            evaluation.at >= deploys[batch - 1]!.at &&
            evaluation.at <= deploys[batch]!.at &&
            before.every((machine) => evaluation.instances.includes(machine)),
        );
        expect(judged.length, `before batch ${batch}`).toBeGreaterThanOrEqual(3);
      }
      // After the last batch: verifying for the window (60 s holds five or six evaluations
      // 10 s apart), then succeeded.
      const last = deploys[deploys.length - 1]!.at;
      const verified = fake.evaluations.filter(
        (evaluation) => evaluation.at >= last && evaluation.instances.length === 3,
      );
      expect(verified.length).toBeGreaterThanOrEqual(5);
      expect(fake.statuses.slice(-2)).toEqual(['verifying', 'succeeded']);
    });

    it('rolls every machine back for a fault that shows only once the last batch runs', async () => {
      const { fake, result } = await run({
        ...machines,
        pacer: fast,
        guard: {
          policy: guarded,
          verdict: (_n, onNewVersion) => (onNewVersion.includes('m3') ? 'fail' : 'pass'),
        },
      });
      expect(result.status).toBe('rolled_back');
      const rolledBack = fake.events.filter((event) => event.what === 'rollback');
      expect(rolledBack.map((event) => event.machine).sort()).toEqual(['m1', 'm2', 'm3']);
      expect(fake.rollbacks[0]?.requested_by).toBe('metric-guard');
      // It was verifying when the guard acted: the release had not called itself succeeded.
      expect(fake.statuses).not.toContain('succeeded');
      expect(fake.statuses.slice(-3)).toEqual(['verifying', 'rolling_back', 'rolled_back']);
    });

    it('never promotes in the middle of a breach', async () => {
      // Fails twice in a row on the gray machine, then passes: three conclusive evaluations
      // are there after the second fail, but the gate waits for the breach to clear.
      const { fake, result } = await run({
        ...machines,
        pacer: fast,
        guard: { policy: guarded, verdict: (n) => (n === 2 || n === 3 ? 'fail' : 'pass') },
      });
      expect(result.status).toBe('succeeded');
      const secondDeploy = fake.events.filter((event) => event.what === 'deploy')[1]!;
      const [third, fourth] = [fake.evaluations[2]!, fake.evaluations[3]!];
      expect([third.verdict, fourth.verdict]).toEqual(['fail', 'pass']);
      expect(secondDeploy.at).toBeGreaterThanOrEqual(fourth.at);
    });

    it('ends the verification window early when a person promotes', async () => {
      const { fake, result } = await run(
        { ...machines, pacer: fast, guard: { policy: guarded, verdict: () => 'pass' } },
        async (handle) => {
          for (;;) {
            const progress = await handle.query(progressQuery);
            if (progress.phase.startsWith('verifying all machines') && progress.promotable) break;
            await env.sleep('2 seconds');
          }
          await handle.signal(promoteSignal, { requested_by: 'alice' });
        },
      );
      expect(result.status).toBe('succeeded');
      const last = fake.events.filter((event) => event.what === 'deploy').at(-1)!.at;
      // Fewer than the three judged evaluations the end of the window would wait for: the
      // promote ended the window and the wait for the judgement.
      const verified = fake.evaluations.filter(
        (evaluation) => evaluation.at >= last && evaluation.instances.length === 3,
      );
      expect(verified.length).toBeLessThan(3);
    });
  });
});
