import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analysisWorkflow } from '../../workflows';
import { startTimeSkipping, workflowBundle } from '../support/temporal';
import { fakeAnalysis } from './fake-analysis';

/**
 * analysisWorkflow's logic on the time-skipping server: the analyzers are tried in order until
 * one writes a report, the report is saved with who wrote it and why the others did not, and
 * the alert that follows can fail without failing the analysis.
 */
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkipping();
});
afterAll(async () => {
  await env?.teardown();
});

async function runAnalysis(fake: ReturnType<typeof fakeAnalysis>) {
  const taskQueue = `analysis-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fake.activities,
  });
  return await worker.runUntil(
    env.client.workflow.execute(analysisWorkflow, {
      taskQueue,
      workflowId: `analysis-${randomUUID()}`,
      args: [{ deploymentId: 'd1', trigger: 'rollback', reason: 'error rate 0.31 > 0.05' }],
    }),
  );
}

describe('analysisWorkflow', () => {
  it('stores the report of the first analyzer that writes one, then alerts', async () => {
    const fake = fakeAnalysis({ llm: 'writes', heuristic: 'writes' });
    expect(await runAnalysis(fake)).toEqual({ analyzer: 'llm' });
    expect(fake.attempts).toEqual(['llm']);
    expect(fake.saved).toHaveLength(1);
    expect(fake.saved[0]).toMatchObject({ analyzer: 'llm', result: { model: 'llm-model' } });
    expect(fake.saved[0]?.fallback_reason).toBeUndefined();
    expect(fake.saved[0]?.collected.context.reason).toBe('error rate 0.31 > 0.05');
    expect(fake.alerted).toEqual(['d1']);
  });

  it('falls back to the heuristic when the LLM fails twice, and says why', async () => {
    const fake = fakeAnalysis({ llm: 'fails', heuristic: 'writes' });
    const result = await runAnalysis(fake);
    expect(result.analyzer).toBe('heuristic');
    expect(result.fallback_reason).toMatch(/^llm: llm is down/);
    // Retried once (an LLM answers differently each time), then the next analyzer.
    expect(fake.attempts).toEqual(['llm', 'llm', 'heuristic']);
    expect(fake.saved[0]).toMatchObject({ analyzer: 'heuristic' });
    expect(fake.saved[0]?.fallback_reason).toMatch(/llm is down/);
  });

  it('fails, storing nothing, when no analyzer can write the report', async () => {
    const fake = fakeAnalysis({ heuristic: 'fails' });
    await expect(runAnalysis(fake)).rejects.toThrow(/failed/);
    expect(fake.saved).toEqual([]);
    expect(fake.alerted).toEqual([]);
  });

  it('keeps a written report when its alert cannot be delivered', async () => {
    const fake = fakeAnalysis({ heuristic: 'writes' }, { alertFails: true });
    expect(await runAnalysis(fake)).toEqual({ analyzer: 'heuristic' });
    expect(fake.saved).toHaveLength(1);
    expect(fake.alerted).toEqual(['d1']);
  });
});
