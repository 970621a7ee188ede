import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineStatusChange } from '../../activities/machine-health';
import type { HealthNotice } from '../../domain/machine-health';
import { appHealthWorkflow } from '../../workflows';
import {
  appHealthQuery,
  machineAlertsSignal,
  stopWatchingSignal,
  type AppHealthInput,
} from '../../workflows/app-health/messages';
import { startTimeSkipping, workflowBundle } from '../support/temporal';
import { dead, fakeWatcherActivities, ok, type Sight } from './fake-watcher';

/**
 * appHealthWorkflow's logic on the time-skipping server, over activities that answer from a
 * script: what the watcher writes, what it announces and when, and what it does when its
 * writes or alerts fail. The activities themselves run against real Prometheus, MongoDB and
 * machines in test/integration/machine-health.test.ts.
 */
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkipping();
});
afterAll(async () => {
  await env?.teardown();
});

async function watch(
  fake: ReturnType<typeof fakeWatcherActivities>,
  input: Partial<AppHealthInput> = {},
  during?: (
    handle: Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>,
  ) => Promise<void>,
) {
  const taskQueue = `health-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fake.activities,
  });
  return await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(appHealthWorkflow, {
      taskQueue,
      workflowId: `health-${randomUUID()}`,
      args: [{ appId: 'app1', ...input }],
    });
    await during?.(handle);
    return await handle.result();
  });
}

const statuses = (changes: MachineStatusChange[][]) =>
  changes.map((batch) =>
    batch.map((change) => `${change.machineId}:${change.record.status}`).join(' '),
  );
const kinds = (notices: HealthNotice[][]) =>
  notices.map((batch) => batch.map((notice) => `${notice.machineId}:${notice.kind}`).join(' '));

describe('appHealthWorkflow', () => {
  it('marks a dead machine error after two failed checks, announces it once, and its recovery once', async () => {
    const timeline: Sight[] = [ok, dead, dead, dead, dead, ok, ok, ok];
    const fake = fakeWatcherActivities((n) =>
      n < timeline.length ? { m1: ok, m2: timeline[n]! } : undefined,
    );
    expect(await watch(fake)).toBe('the application was deleted');
    // m1 stays as stored (healthy): nothing to write for it.
    expect(statuses(fake.recorded)).toEqual(['m2:error', 'm2:healthy']);
    expect(kinds(fake.announced)).toEqual(['m2:down', 'm2:recovered']);
    const down = fake.announced[0]![0]!;
    expect(down.version).toBe('v1.0.0');
    expect(down.reason).toMatch(/connection refused.*up == 0/);
    expect(fake.recorded[0]![0]!.record.status_reason).toMatch(/2 checks in a row/);
  });

  it('holds a single failed check (noise): no write, no alert', async () => {
    const timeline: Sight[] = [ok, dead, ok, dead, ok, dead, ok];
    const fake = fakeWatcherActivities((n) =>
      n < timeline.length ? { m1: timeline[n]! } : undefined,
    );
    await watch(fake);
    expect(fake.recorded).toEqual([]);
    expect(fake.announced).toEqual([]);
  });

  it('leaves a machine a release is deploying to the release, and judges it again after', async () => {
    const timeline: Sight[] = [
      ok,
      { ...dead, deploying: true },
      { ...dead, deploying: true },
      dead,
      ok,
    ];
    const fake = fakeWatcherActivities((n) =>
      n < timeline.length ? { m1: timeline[n]! } : undefined,
    );
    await watch(fake);
    // The two checks during the deploy count nothing: one failure after it is not an error.
    expect(fake.recorded).toEqual([]);
    expect(fake.announced).toEqual([]);
  });

  it("marks a machine alert at once when Alertmanager's webhook signals, and clears it on resolved", async () => {
    let resolved = false;
    const fake = fakeWatcherActivities((_n, webhookAlerts) => {
      const alerts = webhookAlerts.filter((alert) => alert.machineId === 'm1').map((a) => a.name);
      // The application goes once the watcher has seen the alert resolved.
      if (resolved && alerts.length === 0) return undefined;
      return { m1: { alerts } };
    });
    const recorded = async (status: string) => {
      // Each signal makes the watcher check at once, with no timer: real time, not skipped.
      while (!fake.recorded.some((batch) => batch.some((c) => c.record.status === status))) {
        await delay(50);
      }
    };
    await watch(fake, {}, async (handle) => {
      await handle.signal(machineAlertsSignal, {
        firing: [{ key: 'fp1', name: 'HighLatency', machineId: 'm1' }],
        resolved: [],
      });
      await recorded('alert');
      await handle.signal(machineAlertsSignal, { firing: [], resolved: ['fp1'] });
      await recorded('healthy');
      resolved = true;
    });
    expect(statuses(fake.recorded)).toEqual(['m1:alert', 'm1:healthy']);
    const alert = fake.recorded[0]![0]!.record;
    expect(alert.status_reason).toBe('alert firing: HighLatency');
    // An alert is Alertmanager's own news: the watcher does not page for it again.
    expect(fake.announced).toEqual([]);
  });

  it('keeps an undelivered alert and a failed write, and delivers both after the next check', async () => {
    const timeline: Sight[] = [ok, dead, dead, dead, dead, dead];
    const fake = fakeWatcherActivities(
      (n) => (n < timeline.length ? { m1: timeline[n]! } : undefined),
      // Each call is tried up to 5 times: the first check's whole call fails, the next lands.
      { failAnnounce: 5, failRecord: 5 },
    );
    await watch(fake);
    // The first write of the error failed for good (5 attempts); the next check wrote it, once.
    expect(statuses(fake.recorded)).toEqual(['m1:error']);
    expect(kinds(fake.announced)).toEqual(['m1:down']);
    expect(fake.announced[0]).toHaveLength(1);
  });

  it('takes up the state it carried over continue-as-new: a recovery after an announced outage is said once', async () => {
    const fake = fakeWatcherActivities((n) => (n < 2 ? { m1: ok } : undefined));
    fake.stored.set('m1', { status: 'error', status_reason: 'fails', status_since: 1 });
    await watch(fake, {
      machines: {
        m1: {
          status: 'error',
          reason: 'fails its health check',
          since: 1,
          failures: 4,
          doubts: 0,
          downs: [1],
          quiet: false,
          announced: 'down',
          judged: true,
        },
      },
      checks: 500,
    });
    expect(statuses(fake.recorded)).toEqual(['m1:healthy']);
    expect(kinds(fake.announced)).toEqual(['m1:recovered']);
  });

  it('ends when told to stop (the application is deleted)', async () => {
    const fake = fakeWatcherActivities(() => ({ m1: ok }));
    const result = await watch(fake, {}, async (handle) => {
      while ((await handle.query(appHealthQuery)).checks < 1) await env.sleep(1_000);
      await handle.signal(stopWatchingSignal, { reason: 'the application was deleted' });
    });
    expect(result).toBe('stopped: the application was deleted');
  });
});
