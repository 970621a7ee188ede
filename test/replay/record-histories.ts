/**
 * Records the histories that test/replay/replay.test.ts replays, and commit the result:
 *
 *   npx tsx test/replay/record-histories.ts [name ...]
 *
 * With names, only those are recorded. Keep the histories of earlier workflow code: a change
 * made behind `patched()` must still replay them (release-succeeded and release-guard-rolled-back
 * were recorded before the verification window and the judged-evaluation gate). Record all of
 * them again only when a change is meant to break running workflows.
 *
 * worker-health runs on a dev server with the real worker and storage; the releases run on
 * the time-skipping server over the in-memory fleet of test/workflow/fleet.ts, so that their
 * bakes and intervals take no time. The guard's and the analysis' histories are the children's,
 * recorded with them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import {
  analysisWorkflowId,
  appSearchAttribute,
  statusSearchAttribute,
  versionSearchAttribute,
} from '../../domain';
import { appHealthWorkflow, releaseWorkflow, workerHealthWorkflow } from '../../workflows';
import {
  appHealthQuery,
  machineAlertsSignal,
  stopWatchingSignal,
} from '../../workflows/app-health/messages';
import { progressQuery, promoteSignal, rollbackSignal } from '../../workflows/release/messages';
import { createWorker } from '../../worker/worker';
import { testActivityDeps } from '../support/activity-deps';
import { startTestStore } from '../support/mongo';
import { startDevServer, startTimeSkipping, workflowBundle } from '../support/temporal';
import type { ReleaseProgress } from '../../workflows/release/messages';
import { dead, fakeWatcherActivities, ok, type Sight } from '../workflow/fake-watcher';
import { fleet, type FleetOptions } from '../workflow/fleet';
import { historiesDir } from './histories';

async function save(name: string, handle: WorkflowHandle): Promise<void> {
  const history = await handle.fetchHistory();
  const file = path.join(historiesDir, `${name}.json`);
  await writeFile(file, JSON.stringify(JSON.parse(historyToJSON(history)), null, 2) + '\n');
  console.log(`recorded ${file}`);
}

async function recordWorkerHealth(): Promise<void> {
  const [temporal, testStore] = await Promise.all([startDevServer(), startTestStore()]);
  const deps = await testActivityDeps(testStore.store);
  try {
    const taskQueue = 'relguard-record';
    const worker = await createWorker({
      connection: temporal.nativeConnection,
      namespace: 'default',
      taskQueue,
      activities: createActivities(deps.deps),
      workflowBundle: await workflowBundle(),
    });
    await worker.runUntil(async () => {
      const handle = await temporal.client.workflow.start(workerHealthWorkflow, {
        taskQueue,
        workflowId: 'worker-health',
      });
      await handle.result();
      await save('worker-health', handle);
    });
  } finally {
    await deps.dispose();
    await testStore.close();
    await temporal.teardown();
  }
}

async function recordRelease(
  name: string,
  drive: (
    handle: WorkflowHandle<typeof releaseWorkflow>,
    env: TestWorkflowEnvironment,
  ) => Promise<void>,
  guard?: FleetOptions['guard'],
): Promise<void> {
  // A time-skipping server per release: an abandoned analysis stops the clock of the next.
  const env = await startTimeSkipping();
  const fake = fleet(
    {
      machines: 5,
      batches: [['m1'], ['m2', 'm3'], ['m4', 'm5']],
      pacer: { max_parallel: 2 },
      ...(guard ? { guard } : {}),
    },
    (ms) => env.sleep(ms),
  );
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: name,
    workflowBundle: await workflowBundle(),
    activities: fake.activities,
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(releaseWorkflow, {
      taskQueue: name,
      workflowId: name,
      args: [{ deploymentId: fake.plan.deploymentId }],
      typedSearchAttributes: [
        { key: appSearchAttribute, value: 'shop' },
        { key: versionSearchAttribute, value: 'v2' },
        { key: statusSearchAttribute, value: 'pending' },
      ],
    });
    await drive(handle, env);
    const result = await handle.result();
    await save(name, handle);
    if (guard) await save(`${name}-guard`, env.client.workflow.getHandle(`${name}-guard`));
    if (result.status === 'rolled_back') {
      const analysis = env.client.workflow.getHandle(analysisWorkflowId(fake.plan.deploymentId));
      await analysis.result();
      await save(`${name}-analysis`, analysis);
    }
  });
  await env.teardown();
}

/**
 * The health watcher of one application over scripted checks: m2 dies (error, announced),
 * comes back (recovered), an Alertmanager alert marks m1 and is resolved, then the
 * application is deleted (the stop signal).
 */
async function recordAppHealth(name: string): Promise<void> {
  const env = await startTimeSkipping();
  const timeline: Sight[] = [ok, dead, dead, dead, ok, ok, ok, ok, ok, ok];
  const fake = fakeWatcherActivities((n, webhookAlerts) => ({
    m1: { alerts: webhookAlerts.filter((a) => a.machineId === 'm1').map((a) => a.name) },
    m2: timeline[Math.min(n, timeline.length - 1)]!,
  }));
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: name,
    workflowBundle: await workflowBundle(),
    activities: fake.activities,
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(appHealthWorkflow, {
      taskQueue: name,
      workflowId: name,
      args: [{ appId: 'app1' }],
    });
    const checks = async () => (await handle.query(appHealthQuery)).checks;
    while ((await checks()) < 6) await env.sleep('15 seconds');
    await handle.signal(machineAlertsSignal, {
      firing: [{ key: 'fp1', name: 'HighLatency', machineId: 'm1' }],
      resolved: [],
    });
    while ((await checks()) < 8) await env.sleep('15 seconds');
    await handle.signal(machineAlertsSignal, { firing: [], resolved: ['fp1'] });
    while ((await checks()) < 10) await env.sleep('15 seconds');
    await handle.signal(stopWatchingSignal, { reason: 'the application was deleted' });
    await handle.result();
    await save(name, handle);
  });
  await env.teardown();
}

const wanted = new Set(process.argv.slice(2));
const recording = (name: string) => wanted.size === 0 || wanted.has(name);

/** Waits until the release's progress satisfies `reached`. */
async function until(
  handle: WorkflowHandle<typeof releaseWorkflow>,
  env: TestWorkflowEnvironment,
  reached: (progress: ReleaseProgress) => boolean,
): Promise<void> {
  while (!reached(await handle.query(progressQuery))) await env.sleep('5 seconds');
}

await mkdir(historiesDir, { recursive: true });
if (recording('worker-health')) await recordWorkerHealth();
if (recording('app-health')) await recordAppHealth('app-health');
if (recording('release-succeeded'))
  await recordRelease('release-succeeded', () => Promise.resolve());
if (recording('release-rolled-back'))
  await recordRelease('release-rolled-back', async (handle, env) => {
    // Roll back in the interval after batch 1, as the metric guard would.
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.batch === 1 && progress.waitingUntil !== undefined) break;
      await env.sleep('5 seconds');
    }
    await handle.signal(rollbackSignal, {
      reason: 'error rate 0.31 > 0.05 on the new version',
      requested_by: 'metric-guard',
    });
  });
// The metric guard, as the release's child, sees three failing evaluations in the bake.
if (recording('release-guard-rolled-back'))
  await recordRelease('release-guard-rolled-back', () => Promise.resolve(), {
    policy: { interval_seconds: 15, consecutive_breaches: 3 },
    verdict: (n) => (n >= 2 ? 'fail' : 'pass'),
  });
// A guarded release that succeeds: each promotion waits for the guard's judgement, and the
// verification window watches every machine before succeeded.
if (recording('release-judged-succeeded'))
  await recordRelease('release-judged-succeeded', () => Promise.resolve(), {
    policy: { interval_seconds: 15, consecutive_breaches: 3 },
    verdict: () => 'pass',
  });
// A person promotes past the gray bake and out of the verification window.
if (recording('release-promoted'))
  await recordRelease(
    'release-promoted',
    async (handle, env) => {
      await until(handle, env, (progress) => progress.batch === 0 && progress.promotable);
      await handle.signal(promoteSignal, { requested_by: 'alice' });
      await until(handle, env, (progress) => progress.phase.startsWith('verifying all machines'));
      await handle.signal(promoteSignal, { requested_by: 'alice' });
    },
    { policy: { interval_seconds: 15, consecutive_breaches: 3 }, verdict: () => 'pass' },
  );
// The guard breaches in the verification window, after the last batch: every machine back.
if (recording('release-rolled-back-verifying'))
  await recordRelease(
    'release-rolled-back-verifying',
    async (handle, env) => {
      await until(handle, env, (progress) => progress.phase.startsWith('verifying all machines'));
      await handle.signal(rollbackSignal, {
        reason: 'target_down: machine m5 (version v2) failed its health check (ECONNREFUSED)',
        requested_by: 'metric-guard',
      });
    },
    { policy: { interval_seconds: 15, consecutive_breaches: 3 }, verdict: () => 'pass' },
  );
