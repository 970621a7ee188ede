import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalReleases } from '../../api/releases';
import { appSearchAttribute, type Deployment } from '../../domain';
import { approveSignal, progressQuery } from '../../workflows/release/messages';
import { startDevServer, workflowBundle } from '../support/temporal';
import { fleet } from './fleet';

/**
 * What the Temporal UI shows of a release, on the dev server (the server the UI reads, user
 * metadata and all): the static summary and details the api starts it with, the current details
 * the workflow keeps up to date (the `__temporal_workflow_metadata` query the UI reads), and
 * the summaries on its activities, timers and the metric guard child. Real time passes: the
 * bakes and the guard's interval are one second.
 */
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServer();
});
afterAll(async () => {
  await env?.teardown();
});

interface WorkflowMetadata {
  currentDetails?: string | null;
}

const text = (payload: Payload | null | undefined): string | undefined =>
  payload === null || payload === undefined
    ? undefined
    : defaultPayloadConverter.fromPayload<string>(payload);

/** The summaries on a workflow's ActivityTaskScheduled and TimerStarted events, in order. */
async function summariesOf(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const activities: string[] = [];
  const timers: string[] = [];
  for (const event of events) {
    const summary = text(event.userMetadata?.summary);
    if (event.activityTaskScheduledEventAttributes) activities.push(summary ?? '(none)');
    if (event.timerStartedEventAttributes) timers.push(summary ?? '(none)');
  }
  return { activities, timers };
}

const currentDetails = async (handle: WorkflowHandle) =>
  (await handle.query<WorkflowMetadata>('__temporal_workflow_metadata')).currentDetails ?? '';

describe('the Temporal UI', () => {
  it('tells the story of a release the guard rolls back', async () => {
    const fake = fleet(
      {
        machines: 3,
        batches: [['m1'], ['m2'], ['m3']],
        pacer: { gray_bake_seconds: 1, interval_seconds: 1, manual_approval: true },
        guard: {
          policy: {
            enabled: true,
            interval_seconds: 1,
            consecutive_breaches: 1,
            min_judged_evaluations: 1,
            verify_seconds: 30,
            auto_rollback: true,
            no_data: 'ignore',
            ai_analysis: false,
          },
          // The last batch breaks the error rate.
          verdict: (_evaluation, onNewVersion) => (onNewVersion.includes('m3') ? 'fail' : 'pass'),
        },
      },
      (ms) => env.sleep(ms),
    );
    // Judged at once: no scrape to wait for in a fake fleet.
    fake.plan.guardDataGraceMs = 0;
    const taskQueue = `temporal-ui-${randomUUID()}`;
    const deployment: Deployment = {
      id: fake.plan.deploymentId,
      app_name: 'shop',
      app_id: 'a1',
      status: 'pending',
      package_version: 'v2',
      previous_version: 'v1',
      gray_machine_id: 'm1',
      platform: 'local',
      node_deployments: fake.plan.nodes.map((node) => ({ ...node, version: 'v2' })),
      actions: [{ action: 'start', by: 'ci-token', at: 1 }],
      createdTime: 1,
      updatedTime: 1,
    };
    const releases = temporalReleases({
      client: env.client,
      taskQueue,
      namespace: 'default',
      uiUrl: 'http://temporal-ui.example',
      links: {
        consoleUrl: 'https://relguard.example/console/',
        apiUrl: 'https://relguard.example',
      },
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: fake.activities,
    });

    await worker.runUntil(async () => {
      const { workflowId } = await releases.start(deployment);
      const handle = env.client.workflow.getHandle(workflowId);
      try {
        const description = await handle.describe();
        expect(await description.staticSummary()).toBe('shop v2 (from v1) by ci-token');
        const details = await description.staticDetails();
        expect(details).toContain('**shop v2**, started by ci-token');
        expect(details).toContain('- gray machine: m1');
        expect(details).toContain('  - batch 1: m2');
        expect(details).toContain('  - batch 2: m3');
        expect(details).toContain('restores v1 on rollback');
        expect(details).toContain(
          `[release page](https://relguard.example/console/releases/${deployment.id})`,
        );
        expect(details).toContain(
          `[deployment in the api](https://relguard.example/api/v1/deployments/${deployment.id})`,
        );
        // The search attributes stay.
        expect(description.typedSearchAttributes.get(appSearchAttribute)).toBe('shop');

        // Waiting for a person after the gray machine was judged.
        for (let i = 0; !(await handle.query(progressQuery)).awaitingApproval; i++) {
          if (i > 300) throw new Error('the release never asked for approval');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const waiting = await currentDetails(handle);
        expect(waiting).toContain('**waiting for approval** (status verifying)');
        expect(waiting).toContain('- shop v2 (from v1): gray machine');
        expect(waiting).toContain('- machines: 1 deployed, 2 pending');
        expect(waiting).toMatch(/- metric guard: passed \d+ evaluation\(s\) for batch-0/);
        expect(waiting).toContain('- waiting for a person to approve');
        await handle.signal(approveSignal, { requested_by: 'ci-token' });

        expect(await handle.result()).toMatchObject({ status: 'rolled_back' });
        const ended = await currentDetails(handle);
        expect(ended).toContain('**rolled back** (status rolled_back)');
        expect(ended).toContain('- machines: 3 rolled back');
        expect(ended).toMatch(/- rolling back \(asked by metric-guard\): metric guard: /);

        const { activities, timers } = await summariesOf(handle);
        expect(activities.slice(0, 2)).toEqual([
          `load the plan of release ${deployment.id}`,
          'find the package of shop v2',
        ]);
        expect(activities.filter((summary) => summary.startsWith('deploy '))).toEqual([
          'deploy m1 to v2',
          'deploy m2 to v2',
          'deploy m3 to v2',
        ]);
        expect(activities.filter((summary) => summary.startsWith('roll back ')).sort()).toEqual([
          'roll back m1 to v1',
          'roll back m2 to v1',
          'roll back m3 to v1',
        ]);
        expect(
          activities.filter((summary) => summary.startsWith('record status ')).length,
        ).toBeGreaterThan(0);
        expect(activities).toContain('finish the release: rolled back');
        expect(activities).toContain('send the rolled back alert');
        // Every activity of the release says what it does.
        expect(activities).not.toContain('(none)');
        expect(timers.slice(0, 2)).toEqual(['gray bake 1 s', 'bake after batch 1, 1 s']);
        expect(timers).not.toContain('(none)');

        // The metric guard: its summary, what it judged, and its latest verdict.
        const guard = env.client.workflow.getHandle(`${workflowId}-guard`);
        const guardDescription = await guard.describe();
        expect(await guardDescription.staticSummary()).toBe('metric guard of shop v2: every 1 s');
        expect(await guardDescription.staticDetails()).toContain(
          '- 1 failing evaluation(s) in a row: rolls the release back',
        );
        const guardSummaries = await summariesOf(guard);
        expect(new Set(guardSummaries.activities)).toEqual(new Set(['judge shop v2 against v1']));
        expect(new Set(guardSummaries.timers)).toEqual(new Set(['next evaluation in 1 s']));
        const verdict = await currentDetails(guard);
        expect(verdict).toContain('**latest evaluation: fail**');
        expect(verdict).toContain('- failing in a row: 1 of 1 (then rollback)');
        expect(verdict).toContain('- error rate above 5%: fail: error rate: fail');
      } catch (error) {
        await handle.terminate('the test failed').catch(() => undefined);
        throw error;
      }
    });
  });
});
