import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalysisActivities } from '../../activities/analysis';
import { createAnalyzers } from '../../activities/analyzer';
import { LlmAnalyzer, type ToolSession } from '../../activities/analyzer/llm';
import { createChangeSource } from '../../activities/changes';
import { createLogger } from '../../activities/logger';
import { PrometheusClient, prometheusOptions } from '../../activities/metrics';
import { loadConfig } from '../../domain/config';
import { analysisWorkflow } from '../../workflows';
import { sampleContext } from '../support/analysis-report';
import { startHungServer, type HungServer } from '../support/hung-server';
import { startTestStore, type TestStore } from '../support/mongo';
import { startTimeSkipping, workflowBundle } from '../support/temporal';
import { fakeAnalysis } from '../workflow/fake-analysis';

/**
 * An OpenAI-compatible endpoint that hangs: it accepts the request and never answers, or
 * answers 200 with its headers and never sends the body (which the `openai` client's own
 * timeout does not cover). Each request to the model ends after
 * ANALYSIS_REQUEST_TIMEOUT_SECONDS with an error that names the endpoint, the model, the wait
 * and the setting; in an analysis, that error is the report's fallback_reason and the
 * heuristic writes the report.
 */
let silent: HungServer;
let headersOnly: HungServer;
let testStore: TestStore;
let env: TestWorkflowEnvironment;
const logger = createLogger('llm-timeout-test', 'silent');

beforeAll(async () => {
  [silent, headersOnly, testStore, env] = await Promise.all([
    startHungServer('silent'),
    startHungServer('headers-only'),
    startTestStore(),
    startTimeSkipping(),
  ]);
});
afterAll(async () => {
  await silent?.close();
  await headersOnly?.close();
  await testStore?.close();
  await env?.teardown();
});

/** The analyzers a worker builds from its configuration, the LLM's endpoint at `baseUrl`. */
function configuredAnalyzers(baseUrl: string) {
  const config = loadConfig({
    OPENAI_BASE_URL: `${baseUrl}/v1`,
    OPENAI_MODEL: 'hung-model',
    ANALYSIS_REQUEST_TIMEOUT_SECONDS: '1',
    // Nothing answers there; the tools are listed, never called.
    PROMETHEUS_URL: 'http://127.0.0.1:1',
  });
  return createAnalyzers(config, {
    prometheus: new PrometheusClient(prometheusOptions(config)),
    logger,
  });
}

/** No tools: the requests to the model are what is under test. */
const noTools: ToolSession = {
  listTools: () => Promise.resolve([]),
  callTool: () => Promise.resolve({ ok: false, text: 'no tools here' }),
  close: () => Promise.resolve(),
};

function analyzerAt(baseUrl: string, limits: { timeoutMs?: number; requestTimeoutMs?: number }) {
  return new LlmAnalyzer({
    client: new OpenAI({ apiKey: 'sk-test', baseURL: `${baseUrl}/v1`, maxRetries: 2 }),
    model: 'hung-model',
    connectTools: () => Promise.resolve(noTools),
    limits,
    logger,
  });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the analysis to fail');
  return outcome;
}

describe('an LLM endpoint that hangs', () => {
  it('ends the request after ANALYSIS_REQUEST_TIMEOUT_SECONDS, naming the endpoint and the wait', async () => {
    const [llm] = configuredAnalyzers(silent.url);
    expect(llm?.name).toBe('llm');
    const error = await failure(llm!.analyze(sampleContext(), () => {}));
    expect(error.message).toBe(
      `no answer from the LLM at ${silent.url}/v1 (model hung-model) within 1 s ` +
        '(ANALYSIS_REQUEST_TIMEOUT_SECONDS) on turn 1',
    );
    expect(silent.connections()).toBeGreaterThan(0);
  });

  it('ends a request whose answer stops after its headers', async () => {
    const error = await failure(
      analyzerAt(headersOnly.url, { requestTimeoutMs: 1000 }).analyze(sampleContext(), () => {}),
    );
    expect(error.message).toBe(
      `no answer from the LLM at ${headersOnly.url}/v1 (model hung-model) within 1 s ` +
        '(ANALYSIS_REQUEST_TIMEOUT_SECONDS) on turn 1',
    );
  });

  it('says the whole investigation ran out when ANALYSIS_TIMEOUT_SECONDS ends first', async () => {
    const error = await failure(
      analyzerAt(silent.url, { timeoutMs: 1000, requestTimeoutMs: 60_000 }).analyze(
        sampleContext(),
        () => {},
      ),
    );
    expect(error.message).toBe(
      'the LLM investigation took longer than 1 s (ANALYSIS_TIMEOUT_SECONDS): ' +
        `the LLM at ${silent.url}/v1 (model hung-model) had not answered turn 1`,
    );
  });

  it('is the fallback_reason of the report the heuristic writes instead', async () => {
    const fake = fakeAnalysis({ llm: 'writes', heuristic: 'writes' });
    const real = createAnalysisActivities({
      store: testStore.store,
      changes: createChangeSource({ githubApiUrl: 'http://127.0.0.1:1' }),
      analyzers: configuredAnalyzers(silent.url),
      logger,
    });
    const taskQueue = `llm-timeout-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...fake.activities,
        // The real activity and the real LLM analyzer; the heuristic stays the fake's.
        runAnalyzer: (request: Parameters<typeof real.runAnalyzer>[0]) =>
          request.analyzer === 'llm'
            ? real.runAnalyzer(request)
            : fake.activities.runAnalyzer!(request),
      },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(analysisWorkflow, {
        taskQueue,
        workflowId: `analysis-${randomUUID()}`,
        args: [{ deploymentId: 'd1', trigger: 'rollback', reason: 'error rate 0.31 > 0.05' }],
      }),
    );
    expect(result.analyzer).toBe('heuristic');
    const timedOut =
      `llm: no answer from the LLM at ${silent.url}/v1 (model hung-model) within 1 s ` +
      '(ANALYSIS_REQUEST_TIMEOUT_SECONDS) on turn 1';
    expect(result.fallback_reason).toBe(timedOut);
    expect(fake.saved).toHaveLength(1);
    expect(fake.saved[0]).toMatchObject({ analyzer: 'heuristic', fallback_reason: timedOut });
  });
});
