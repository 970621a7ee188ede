import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { startTogether } from '../support/start-together';
import { toolPaths } from '../support/tools';
import { startMcpHttp, TEST_MCP_TOKEN, type McpProcess } from './mcp-process';

/**
 * A schemathesis fuzz of the MCP HTTP endpoint (issue 15): POST /mcp described by a minimal
 * OpenAPI document written for this test (a JSON-RPC request: the methods a client sends, the
 * seven tools by name, arguments of any shape), sent to the real server process with its token
 * over a real Prometheus. No answer may be a 5xx; the run reports how many cases it sent.
 */
const TOOLS = [
  'alerts',
  'label_values',
  'list_metrics',
  'metric_metadata',
  'query',
  'query_range',
  'targets',
];

const document = {
  openapi: '3.0.3',
  info: { title: 'relguard Prometheus MCP server, streamable HTTP (stateless)', version: '1' },
  paths: {
    '/mcp': {
      post: {
        operationId: 'mcp',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/JsonRpc' } } },
        },
        responses: {
          '200': {
            description: 'The JSON-RPC answer (a tool error is a result with isError)',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '202': { description: 'A notification, accepted' },
          '400': { description: 'Not a JSON-RPC request the server can read' },
          '401': { description: 'Without the bearer token' },
          '406': { description: 'An Accept header without application/json and text/event-stream' },
          '415': { description: 'Not application/json' },
        },
      },
    },
  },
  components: {
    schemas: {
      JsonRpc: {
        type: 'object',
        required: ['jsonrpc', 'method'],
        properties: {
          jsonrpc: { type: 'string', enum: ['2.0'] },
          id: { oneOf: [{ type: 'integer' }, { type: 'string' }] },
          method: {
            type: 'string',
            enum: [
              'initialize',
              'ping',
              'tools/list',
              'tools/call',
              'notifications/initialized',
              'resources/list',
              'prompts/list',
            ],
          },
          params: {
            type: 'object',
            properties: {
              name: { type: 'string', enum: TOOLS },
              arguments: {
                type: 'object',
                properties: {
                  query: { type: 'string' },
                  start: { type: 'string' },
                  end: { type: 'string' },
                  step: { type: 'string' },
                  time: { type: 'string' },
                  limit: { type: 'integer' },
                  match: { type: 'string' },
                  label: { type: 'string' },
                  metric: { type: 'string' },
                },
                additionalProperties: true,
              },
              protocolVersion: { type: 'string' },
              capabilities: { type: 'object' },
              clientInfo: { type: 'object' },
            },
          },
        },
      },
    },
  },
};

let prometheus: TestPrometheus;
let http: McpProcess & { url: string };
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'relguard-mcp-fuzz-'));
  [prometheus] = await startTogether([startPrometheus()]);
  http = await startMcpHttp(await freePort(), {
    PROMETHEUS_URL: prometheus.url,
    LOG_LEVEL: 'warn',
    MCP_QUERY_TIMEOUT_MS: '5000',
  });
  await writeFile(path.join(scratch, 'openapi.json'), JSON.stringify(document));
});

afterAll(async () => {
  await http?.stop();
  await prometheus?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** schemathesis' exit code and everything it printed; killed after `timeoutMs`. */
function schemathesis(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(toolPaths().schemathesis, args, {
      cwd: scratch,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, output: signal === null ? output : `${output}\n(killed by ${signal})` });
    });
  });
}

interface Har {
  log: { entries: { response: { status: number } }[] };
}

describe('POST /mcp under a schema-driven fuzz', () => {
  it('answers no 5xx to any case, and most get past the token to the server', async () => {
    const base = new URL(http.url).origin;
    const harPath = path.join(scratch, 'run.har');
    const { code, output } = await schemathesis(
      [
        'run',
        path.join(scratch, 'openapi.json'),
        '--url',
        base,
        '--header',
        `Authorization: Bearer ${TEST_MCP_TOKEN}`,
        '--header',
        'Accept: application/json, text/event-stream',
        '--checks',
        'not_a_server_error',
        '--max-examples',
        '60',
        '--seed',
        '1',
        '--workers',
        '1',
        '--generation-database',
        'none',
        '--report',
        'har',
        '--report-har-path',
        harPath,
        '--no-color',
      ],
      150_000,
    );
    expect(code, output).toBe(0);
    const generated = /(\d+) generated/.exec(output)?.[1];
    expect(generated, output).toBeDefined();
    const statuses = (JSON.parse(await readFile(harPath, 'utf8')) as Har).log.entries.map(
      (entry) => entry.response.status,
    );
    const counts: Record<number, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    // The count of cases, for README's fuzz line.
    console.log(
      `MCP HTTP fuzz: ${generated} cases generated, ${statuses.length} requests sent, by status ${JSON.stringify(counts)}`,
    );
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    // Schemathesis' own cases (no token of theirs replaces ours): the server read them.
    expect(counts[200] ?? 0).toBeGreaterThan(0);
  }, 180_000);
});
