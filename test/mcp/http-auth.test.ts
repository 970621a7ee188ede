import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import {
  mcpAuthHeaders,
  spawnMcp,
  startMcpHttp,
  TEST_MCP_TOKEN,
  type McpProcess,
} from './mcp-process';

/**
 * The MCP HTTP server's bearer token (issue 15), on the real process over real HTTP: no answer
 * but 401 without MCP_TOKEN, and no server at all without one configured.
 */
let http: McpProcess & { url: string };

const listTools = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const rpcHeaders = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

beforeAll(async () => {
  // No Prometheus behind it: listing the tools asks none, and a refused request must not reach it.
  http = await startMcpHttp(await freePort(), {
    PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`,
    LOG_LEVEL: 'info',
  });
});
afterAll(async () => {
  await http?.stop();
});

describe('requests', () => {
  it.each([
    ['no Authorization header', {}, 'needs a bearer token'],
    ['a wrong token', { authorization: 'Bearer not-the-token-0123456789abcdef0123' }, 'not valid'],
    [
      'the token with one character changed',
      { authorization: `Bearer ${TEST_MCP_TOKEN.slice(0, -1)}X` },
      'not valid',
    ],
    [
      'the token as Basic credentials',
      { authorization: `Basic ${Buffer.from(`x:${TEST_MCP_TOKEN}`).toString('base64')}` },
      'not valid',
    ],
    ['the token without the Bearer scheme', { authorization: TEST_MCP_TOKEN }, 'not valid'],
  ])('%s: 401 with a JSON-RPC error, and no tool list', async (_, headers, message) => {
    const response = await fetch(http.url, {
      method: 'POST',
      headers: { ...rpcHeaders, ...headers },
      body: listTools,
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="relguard-mcp"');
    const text = await response.text();
    expect(text).toContain(message);
    expect(text).not.toContain('query_range');
  });

  it('a GET or a DELETE without the token is 401 too, not a hint of what the route takes', async () => {
    for (const method of ['GET', 'DELETE']) {
      expect((await fetch(http.url, { method })).status).toBe(401);
    }
  });

  it('with the token, the tools are listed (raw JSON-RPC and the SDK client)', async () => {
    const response = await fetch(http.url, {
      method: 'POST',
      headers: { ...rpcHeaders, ...mcpAuthHeaders },
      body: listTools,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { tools: { name: string }[] } };
    expect(body.result.tools.map((tool) => tool.name)).toContain('query_range');

    const client = new Client({ name: 'relguard-test', version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(http.url), {
        requestInit: { headers: mcpAuthHeaders },
      }),
    );
    try {
      expect((await client.listTools()).tools).toHaveLength(7);
    } finally {
      await client.close();
    }
  });

  it('the SDK client without the token cannot connect', async () => {
    const client = new Client({ name: 'relguard-test', version: '0' });
    await expect(
      client.connect(new StreamableHTTPClientTransport(new URL(http.url))),
    ).rejects.toThrow();
  });

  it('the token never appears in the log, and refusals are logged', () => {
    expect(http.stderr()).not.toContain(TEST_MCP_TOKEN);
    expect(http.stderr()).toContain('refused a request without the MCP token');
  });
});

describe('start-up', () => {
  it.each([
    ['127.0.0.1', {}, 'required to serve HTTP'],
    ['0.0.0.0', {}, 'required to serve HTTP'],
    ['127.0.0.1', { MCP_TOKEN: 'short' }, 'at least 32 characters'],
  ])('on %s with %j: refuses to start, naming MCP_TOKEN', async (host, env, message) => {
    const port = await freePort();
    const server = spawnMcp([], { MCP_HOST: host, MCP_PORT: String(port), ...env });
    expect(await server.exited).toBe(2);
    expect(server.stderr()).toContain('MCP_TOKEN');
    expect(server.stderr()).toContain(message);
    // Nothing listened meanwhile.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('--stdio needs no token', async () => {
    const server = spawnMcp(['--stdio'], { LOG_LEVEL: 'info' });
    try {
      server.process.stdin?.end();
      expect(await server.exited).toBe(0);
      expect(server.stderr()).not.toContain('MCP_TOKEN');
    } finally {
      await server.stop();
    }
  });
});
