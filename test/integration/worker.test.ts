import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { workerHealthWorkflow } from '../../workflows';
import { createWorker } from '../../worker/worker';
import { testActivityDeps, type TestActivityDeps } from '../support/activity-deps';
import { startTestStore, type TestStore } from '../support/mongo';
import { startDevServer, workflowBundle } from '../support/temporal';
import { startTogether } from '../support/start-together';

let temporal: TestWorkflowEnvironment;
let testStore: TestStore;
let activityDeps: TestActivityDeps;

beforeAll(async () => {
  [temporal, testStore] = await startTogether([startDevServer(), startTestStore()]);
  activityDeps = await testActivityDeps(testStore.store);
});
afterAll(async () => {
  await activityDeps?.dispose();
  await testStore?.close();
  await temporal?.teardown();
});

describe('the relguard worker on a Temporal dev server', () => {
  it('runs a workflow and its activity end to end with the real registrations', async () => {
    const taskQueue = 'relguard-worker-test';
    const worker = await createWorker({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace ?? 'default',
      taskQueue,
      activities: createActivities(activityDeps.deps),
      workflowBundle: await workflowBundle(),
    });
    const report = await worker.runUntil(
      temporal.client.workflow.execute(workerHealthWorkflow, {
        taskQueue,
        workflowId: `worker-health-${Date.now()}`,
      }),
    );
    expect(report.taskQueue).toBe(taskQueue);
    expect(report.mongo).toBe('ok');
    expect(report.worker).toMatch(new RegExp(`/${process.pid}$`));
  });
});
