import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { mcpAuthHeaders, mcpCommand, spawnMcp, startMcpHttp, type McpProcess } from './mcp-process';

/**
 * The server as a client sees it, over both transports, against a real Prometheus that
 * scrapes itself (so `up` and prometheus_* series exist).
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

let prometheus: TestPrometheus;
let self: string;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 30 s`);
    await delay(250);
  }
}

beforeAll(async () => {
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
  self = new URL(prometheus.url).host;
  await prometheus.addTargets('self', [{ targets: [self], labels: { app: 'prom-self' } }]);
  // A few scrapes, so that a range query has points to summarise.
  await eventually('three scrapes of Prometheus itself', async () => {
    const scrapes = await prometheus.query('count_over_time(up{app="prom-self"}[1m])');
    return scrapes !== undefined && scrapes >= 3 ? scrapes : undefined;
  });
});
afterAll(async () => {
  await prometheus?.stop();
});

interface ToolAnswer {
  isError: boolean;
  text: string;
}

type Transport = 'stdio' | 'http';

describe.each<Transport>(['stdio', 'http'])('over %s', (transport) => {
  let client: Client;
  let http: (McpProcess & { url: string }) | undefined;

  beforeAll(async () => {
    client = new Client({ name: 'relguard-test', version: '0' });
    if (transport === 'stdio') {
      await client.connect(
        new StdioClientTransport({
          ...mcpCommand,
          args: [...mcpCommand.args, '--stdio'],
          env: { PROMETHEUS_URL: prometheus.url, LOG_LEVEL: 'warn' },
          stderr: 'pipe',
        }),
      );
    } else {
      http = await startMcpHttp(await freePort(), {
        PROMETHEUS_URL: prometheus.url,
        LOG_LEVEL: 'warn',
      });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(http.url), {
          requestInit: { headers: mcpAuthHeaders },
        }),
      );
    }
  });
  afterAll(async () => {
    await client?.close();
    await http?.stop();
  });

  async function call(name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
    const result = await client.callTool({ name, arguments: args });
    const [first, ...rest] = result.content as { type: string; text: string }[];
    expect(rest).toEqual([]);
    expect(first?.type).toBe('text');
    return { isError: result.isError === true, text: first?.text ?? '' };
  }

  async function data<T = Record<string, unknown>>(
    name: string,
    args: Record<string, unknown> = {},
  ): Promise<T> {
    const answer = await call(name, args);
    expect(answer.isError, answer.text).toBe(false);
    return JSON.parse(answer.text) as T;
  }

  it('lists the seven read-only tools with descriptions and input schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(100);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.annotations?.readOnlyHint, tool.name).toBe(true);
    }
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    const query = byName.get('query')?.inputSchema;
    expect(Object.keys(query?.properties ?? {}).sort()).toEqual(['limit', 'query', 'time']);
    expect(query?.required).toEqual(['query']);
    const range = byName.get('query_range')?.inputSchema;
    expect(Object.keys(range?.properties ?? {}).sort()).toEqual([
      'end',
      'limit',
      'query',
      'start',
      'step',
    ]);
    expect([...(range?.required ?? [])].sort()).toEqual(['query', 'start']);
  });

  it('query: an instant vector with labels and values', async () => {
    const result = await data('query', { query: 'up{app="prom-self"}' });
    expect(result).toMatchObject({ query: 'up{app="prom-self"}', resultType: 'vector', total: 1 });
    expect(result.series).toEqual([
      {
        labels: { __name__: 'up', app: 'prom-self', instance: self, job: 'relguard-nodes' },
        value: 1,
      },
    ]);
    expect(Date.now() - Date.parse(result.time as string)).toBeLessThan(60_000);
  });

  it('query: caps the series and says how many were left out', async () => {
    const result = await data('query', { query: 'prometheus_http_requests_total', limit: 1 });
    const total = result.total as number;
    expect(total).toBeGreaterThan(1);
    expect(result.series).toHaveLength(1);
    expect(result.omitted).toBe(total - 1);
    expect(result.note).toContain(`showing 1 of ${total}`);
  });

  it('query_range: a summary per series, not the points', async () => {
    const result = await data('query_range', {
      query: 'up{app="prom-self"}',
      start: 'now-1m',
      step: '1s',
    });
    expect(result).toMatchObject({ step: 1, total: 1 });
    const [series] = result.series as Record<string, unknown>[];
    expect(series).toMatchObject({
      labels: { app: 'prom-self', instance: self },
      min: 1,
      max: 1,
      avg: 1,
      first: 1,
      last: 1,
      trend: 'flat',
    });
    expect(series?.points).toBeGreaterThanOrEqual(3);
    expect(Date.parse(series?.max_at as string)).toBeGreaterThan(Date.now() - 120_000);
    expect(Object.keys(series ?? {}).sort()).toEqual(
      ['avg', 'first', 'labels', 'last', 'max', 'max_at', 'min', 'points', 'trend'].sort(),
    );
  });

  it('list_metrics: filtered and paginated', async () => {
    const first = await data<{ total: number; metrics: string[]; next_offset: number }>(
      'list_metrics',
      { match: 'prometheus_http', limit: 2 },
    );
    expect(first.total).toBeGreaterThan(2);
    expect(first.metrics).toHaveLength(2);
    expect(first.next_offset).toBe(2);
    const second = await data<{ metrics: string[]; offset: number }>('list_metrics', {
      match: 'prometheus_http',
      limit: 2,
      offset: 2,
    });
    expect(second.offset).toBe(2);
    for (const name of [...first.metrics, ...second.metrics]) {
      expect(name).toContain('prometheus_http');
    }
    expect(second.metrics.filter((name) => first.metrics.includes(name))).toEqual([]);
    expect(await data('list_metrics', { match: '^up$' })).toEqual({
      match: '^up$',
      total: 1,
      offset: 0,
      metrics: ['up'],
    });
  });

  it('label_values: the values on the matching series', async () => {
    expect(await data('label_values', { label: 'instance', match: 'up{app="prom-self"}' })).toEqual(
      { label: 'instance', match: 'up{app="prom-self"}', total: 1, values: [self] },
    );
  });

  it('metric_metadata: type and help', async () => {
    expect(
      await data('metric_metadata', { metric: 'prometheus_http_requests_total' }),
    ).toMatchObject({
      total: 1,
      metrics: [
        {
          metric: 'prometheus_http_requests_total',
          type: 'counter',
          help: expect.stringContaining('HTTP requests') as unknown,
        },
      ],
    });
  });

  it('targets: the scrape target, compactly', async () => {
    const result = await data<{
      health: Record<string, number>;
      targets: Record<string, unknown>[];
    }>('targets', { state: 'up' });
    expect(result.health).toEqual({ up: 1, down: 0, unknown: 0 });
    expect(result.targets).toEqual([
      {
        job: 'relguard-nodes',
        instance: self,
        health: 'up',
        last_scrape: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) as unknown,
        scrape_seconds: expect.any(Number) as unknown,
        labels: { app: 'prom-self' },
      },
    ]);
    expect(await data('targets', { state: 'down' })).toMatchObject({ total: 0, targets: [] });
  });

  it('alerts: none on a Prometheus without rules, in the same shape', async () => {
    expect(await data('alerts')).toEqual({ firing: 0, pending: 0, total: 0, alerts: [] });
  });

  it('bad PromQL: isError naming the query and bad_data, and the server answers on', async () => {
    const answer = await call('query', { query: 'sum(rate(up[1m])' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/^query "sum\(rate\(up\[1m\]\)" failed: bad_data: .*parse error/);
    const range = await call('query_range', { query: 'up{', start: 'now-5m' });
    expect(range.isError).toBe(true);
    expect(range.text).toMatch(/^query_range "up\{" failed: bad_data: /);
    const unknown = await call('no_such_tool');
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toContain('no_such_tool');
    expect(await data('query', { query: 'vector(7)' })).toMatchObject({
      series: [{ labels: {}, value: 7 }],
    });
  });
});

describe('over http: the endpoint itself', () => {
  let http: McpProcess & { url: string };

  beforeAll(async () => {
    http = await startMcpHttp(await freePort(), {
      PROMETHEUS_URL: prometheus.url,
      LOG_LEVEL: 'info',
    });
  });
  afterAll(async () => {
    await http?.stop();
  });

  function send(method: string, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const call = request(
        http.url,
        { method, headers: { host, ...mcpAuthHeaders } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      call.on('error', reject);
      call.end();
    });
  }

  it('is stateless: no server-sent stream to GET, POST only', async () => {
    const response = await fetch(http.url, { headers: mcpAuthHeaders });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.text()).toContain('stateless');
  });

  it('refuses a foreign Host header on loopback (DNS rebinding)', async () => {
    const port = new URL(http.url).port;
    expect(await send('GET', `evil.example:${port}`)).toBe(403);
    expect(await send('GET', `localhost:${port}`)).toBe(405);
  });

  it('stops gracefully on SIGTERM, its logs on stderr', async () => {
    expect(await http.stop()).toBe(0);
    const logs = http
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; component: string });
    const messages = logs.map((line) => line.msg);
    expect(messages[0]).toBe('mcp server listening');
    expect(messages.slice(-2)).toEqual(['mcp server stopping', 'mcp server stopped']);
    expect(new Set(logs.map((line) => line.component))).toEqual(new Set(['mcp']));
    expect(http.stdout()).toBe('');
  });
});

describe('over stdio: the process itself', () => {
  it('writes nothing but the protocol to stdout and ends when stdin closes', async () => {
    const server = spawnMcp(['--stdio'], {
      PROMETHEUS_URL: prometheus.url,
      LOG_LEVEL: 'debug',
    });
    try {
      const initialize = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '0' },
        },
      };
      server.process.stdin?.write(`${JSON.stringify(initialize)}\n`);
      await eventually('the initialize answer', () =>
        Promise.resolve(server.stdout().includes('\n') ? true : undefined),
      );
      server.process.stdin?.write(
        `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n` +
          `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'query', arguments: { query: 'sum(' } } })}\n`,
      );
      await eventually('the tool answer', () =>
        Promise.resolve(server.stdout().split('\n').length > 2 ? true : undefined),
      );
      server.process.stdin?.end();
      expect(await server.exited).toBe(0);

      const messages = server
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(messages).toEqual([
        expect.objectContaining({
          id: 1,
          result: expect.objectContaining({
            serverInfo: expect.objectContaining({ name: 'relguard-prometheus' }) as unknown,
          }) as unknown,
        }),
        expect.objectContaining({
          id: 2,
          result: expect.objectContaining({ isError: true }) as unknown,
        }),
      ]);
      const logs = server.stderr();
      expect(logs).toContain('"msg":"mcp server started"');
      expect(logs).toContain('"msg":"tool call failed"');
      expect(logs).toContain('"reason":"stdin closed"');
    } finally {
      await server.stop();
    }
  });
});
