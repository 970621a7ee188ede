import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmAnalyzer, type LlmLimits } from '../../activities/analyzer/llm';
import { createLogger } from '../../activities/logger';
import { connectPrometheusMcp } from '../../mcp/client';
import { sampleContext, sampleFindings } from '../support/analysis-report';
import { startFakeOpenAI, type FakeOpenAI, type ScriptedReply } from '../support/fake-openai';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';

/**
 * The LLM analyzer through the real `openai` client against a scripted OpenAI-compatible
 * server, with the real Prometheus MCP server (spawned over stdio) in front of a real
 * Prometheus: the model's tool calls really run, and what they return reaches the model.
 */
let prometheus: TestPrometheus;
let fake: FakeOpenAI | undefined;
const apiKey = 'sk-test-never-in-a-prompt';

beforeAll(async () => {
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
  // Prometheus scrapes itself, so `up` has a series to find.
  await prometheus.addTargets('self', [
    { targets: [new URL(prometheus.url).host], labels: { app: 'prometheus' } },
  ]);
  for (let i = 0; i < 80 && (await prometheus.query('up{app="prometheus"}')) !== 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
});
afterAll(async () => {
  await fake?.stop();
  await prometheus?.stop();
});

const validAnswer = JSON.stringify(sampleFindings());

async function analyzeWith(
  script: (turn: number, request: FakeOpenAI['requests'][number]) => ScriptedReply,
  limits: LlmLimits = {},
) {
  await fake?.stop();
  fake = await startFakeOpenAI((request, turn) => script(turn, request));
  const analyzer = new LlmAnalyzer({
    client: new OpenAI({ apiKey, baseURL: fake.baseUrl, maxRetries: 0 }),
    model: 'scripted-1',
    connectTools: () => connectPrometheusMcp({ prometheusUrl: prometheus.url }),
    limits,
    logger: createLogger('llm-test', 'silent'),
  });
  const progress: string[] = [];
  const result = analyzer.analyze(sampleContext(), (detail) => progress.push(detail));
  return { result, progress, requests: fake.requests };
}

const lastMessage = (request: FakeOpenAI['requests'][number]) => request.body.messages.at(-1);

describe('LlmAnalyzer', () => {
  it('runs the tools the model calls against Prometheus, then repairs a malformed answer', async () => {
    const { result, progress, requests } = await analyzeWith((turn) => {
      if (turn === 1) return { toolCalls: [{ name: 'query', arguments: { query: 'up' } }] };
      if (turn === 2) return { content: 'It is PR #12, I am fairly sure.' };
      return { content: `Here it is:\n\`\`\`json\n${validAnswer}\n\`\`\`` };
    });
    const { findings, tool_calls, model } = await result;
    expect(findings.suspect_changes[0]?.number).toBe(12);
    expect(findings.confidence).toBe(0.8);
    expect(model).toBe('scripted-1');
    expect(tool_calls).toEqual([
      expect.objectContaining({ tool: 'query', arguments: { query: 'up' }, ok: true }),
    ]);
    expect(progress).toContain('calling query');

    // Turn 1 offered the MCP tools as functions, with the release and its pull request.
    const offered = requests[0]?.body.tools?.map((tool) => tool.function.name);
    expect(offered).toEqual(expect.arrayContaining(['query', 'query_range', 'list_metrics']));
    expect(requests[0]?.body.messages[1]?.content).toContain(
      'Remove retry from the payment client',
    );
    // Turn 2 carried the real answer of Prometheus to the model.
    const toolResult = lastMessage(requests[1]!);
    expect(toolResult?.role).toBe('tool');
    expect(toolResult?.content).toContain('prometheus');
    // Turn 3 asked for a correction, naming what was wrong.
    expect(lastMessage(requests[2]!)?.content).toMatch(/not a JSON object matching the schema/);
    // The key went in the header, never into a prompt.
    expect(requests[0]?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(requests.some((request) => request.raw.includes(apiKey))).toBe(false);
  });

  it('gives the model a bad query as a tool error, and rejects an answer that stays malformed', async () => {
    const { result, requests } = await analyzeWith(
      (turn) =>
        turn === 1
          ? { toolCalls: [{ name: 'query', arguments: { query: 'sum(rate(' } }] }
          : { content: JSON.stringify({ summary: 'something broke' }) },
      { maxRepairs: 2 },
    );
    await expect(result).rejects.toThrow(
      /did not fit the report schema after 2 correction\(s\): .*fault_class/,
    );
    expect(lastMessage(requests[1]!)?.content).toMatch(/bad_data/);
    // One tool turn, the first answer and two corrections.
    expect(requests).toHaveLength(4);
  });

  it('stops offering tools once their budget is spent', async () => {
    const { result, requests } = await analyzeWith(
      (turn, request) => {
        if (request.body.tools === undefined) return { content: validAnswer };
        return { toolCalls: [{ name: 'list_metrics', arguments: { match: `up${turn}` } }] };
      },
      { maxToolCalls: 2 },
    );
    const { tool_calls } = await result;
    expect(tool_calls).toHaveLength(2);
    expect(requests.map((request) => request.body.tools !== undefined)).toEqual([
      true,
      true,
      false,
    ]);
  });
});
