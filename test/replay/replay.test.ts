import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../support/temporal';
import { recordedHistories } from './histories';

async function replay(bundle: Awaited<ReturnType<typeof workflowBundle>>) {
  const results = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundle },
    await recordedHistories(),
  )) {
    results.push(result);
  }
  return results;
}

describe('recorded histories', () => {
  it('replay on the current workflow code without a determinism error', async () => {
    const results = await replay(await workflowBundle());
    expect(results.map((result) => result.workflowId).sort()).toEqual([
      'app-health',
      'release-guard-rolled-back',
      'release-guard-rolled-back-analysis',
      'release-guard-rolled-back-guard',
      'release-judged-succeeded',
      'release-judged-succeeded-guard',
      'release-promoted',
      'release-promoted-guard',
      'release-rolled-back',
      'release-rolled-back-analysis',
      'release-rolled-back-verifying',
      'release-rolled-back-verifying-analysis',
      'release-rolled-back-verifying-guard',
      'release-succeeded',
      'worker-health',
    ]);
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
  });

  it('catch workflows changed in a non-deterministic way', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/changed-workflows.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const results = await replay(changed);
    const changedWorkflows = results.filter((result) => !result.workflowId.endsWith('-guard'));
    expect(changedWorkflows).toHaveLength(11);
    for (const result of changedWorkflows) {
      expect(result.error, result.workflowId).toBeInstanceOf(DeterminismViolationError);
    }
  });
});
