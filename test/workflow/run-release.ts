import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { appSearchAttribute, statusSearchAttribute, versionSearchAttribute } from '../../domain';
import { releaseWorkflow } from '../../workflows';
import { progressQuery, type ReleaseProgress } from '../../workflows/release/messages';
import { workflowBundle } from '../support/temporal';
import type { fleet } from './fleet';

export type ReleaseHandle = Awaited<
  ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>
>;

/**
 * Runs the release of the fleet's deployment on `env` with the fleet's activities on a task queue of
 * its own; `drive` signals it while it runs. Returns its result, final status and history size,
 * after the analysis a rollback started has finished too.
 */
export async function runRelease(
  env: TestWorkflowEnvironment,
  fake: ReturnType<typeof fleet>,
  drive?: (handle: ReleaseHandle) => Promise<void>,
) {
  const taskQueue = `release-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fake.activities,
  });
  return await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(releaseWorkflow, {
      taskQueue,
      workflowId: `release-shop-${randomUUID()}`,
      args: [{ deploymentId: fake.plan.deploymentId }],
      typedSearchAttributes: [
        { key: appSearchAttribute, value: 'shop' },
        { key: versionSearchAttribute, value: 'v2' },
        { key: statusSearchAttribute, value: 'pending' },
      ],
    });
    try {
      if (drive) await drive(handle);
    } catch (error) {
      // A workflow left waiting would hold the shared test server's clock for the next test.
      await handle.terminate('the test failed');
      throw error;
    }
    const result = await handle.result();
    const history = await handle.fetchHistory();
    // A rollback starts the analysis, which outlives the release: let it finish on this worker.
    const analysis = history.events?.find(
      (event) =>
        event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ===
        'analysisWorkflow',
    )?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    if (analysis) await env.client.workflow.getHandle(analysis).result();
    const { typedSearchAttributes } = await handle.describe();
    return {
      result,
      handle,
      historyLength: history.events?.length ?? 0,
      finalStatus: typedSearchAttributes.get(statusSearchAttribute),
    };
  });
}

/**
 * Polls the progress query until `ok`. On the time-skipping server time moves only while
 * someone waits on it, so each poll sleeps five seconds of it: a bake of minutes passes in a
 * few dozen polls.
 */
export async function until(
  env: TestWorkflowEnvironment,
  handle: { query: (query: typeof progressQuery) => Promise<ReleaseProgress> },
  ok: (progress: ReleaseProgress) => boolean,
) {
  for (let i = 0; i < 200; i++) {
    const progress = await handle.query(progressQuery);
    if (ok(progress)) return progress;
    await env.sleep('5 seconds');
  }
  throw new Error('the release never reached the expected state');
}
