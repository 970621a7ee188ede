import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from '../activities/logger';
import type { PrometheusClient } from '../activities/metrics';
import { MIN_MCP_TOKEN_LENGTH } from './config';
import { createPrometheusMcpServer } from './server';

export interface McpHttpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:8811/mcp. */
  url: string;
  /** Stops accepting connections and waits (at most `graceMs`) for the calls in flight. */
  close(graceMs?: number): Promise<void>;
}

export interface McpHttpServerOptions {
  client: PrometheusClient;
  host: string;
  port: number;
  /** The bearer token every request to /mcp must carry (MCP_TOKEN). */
  token: string;
  logger: Logger;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function sendJson(response: ServerResponse, status: number, body: unknown, headers = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

const rpcError = (message: string) => ({
  jsonrpc: '2.0',
  error: { code: -32000, message },
  id: null,
});

/**
 * A server bound to loopback trusts only loopback Host headers: otherwise a web page in a
 * browser on this machine could reach it under a rebound DNS name (DNS rebinding). Bound to
 * another address, the operator has chosen who may reach it.
 */
function hostAllowed(bindHost: string, hostHeader: string | undefined): boolean {
  if (!LOOPBACK.has(bindHost)) return true;
  if (hostHeader === undefined) return false;
  try {
    return LOOPBACK.has(new URL(`http://${hostHeader}`).hostname);
  } catch {
    return false;
  }
}

const bearer = /^Bearer\s+(\S+)$/i;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Whether the Authorization header carries the token. Both sides are hashed first, so that
 * the comparison is of two 32-byte digests and takes the same time whatever the header holds
 * (its length included).
 */
function bearerMatches(expected: Buffer, header: string | undefined): boolean {
  const presented = bearer.exec(header ?? '')?.[1];
  return presented !== undefined && timingSafeEqual(sha256(presented), expected);
}

/**
 * Serves the MCP streamable HTTP transport at /mcp, statelessly: every POST gets a fresh
 * McpServer and transport and is answered with plain JSON. The tools keep no state between
 * calls and send no notifications, so sessions would buy nothing but memory to expire and a
 * server that cannot be restarted or load-balanced under a client; the SDK's
 * StreamableHTTPClientTransport works either way (it treats the 405 to its GET as "no
 * server-sent stream").
 */
export async function startMcpHttpServer(options: McpHttpServerOptions): Promise<McpHttpServer> {
  const { client, host, port, logger } = options;
  if (options.token.length < MIN_MCP_TOKEN_LENGTH) {
    throw new Error(
      `the MCP HTTP server needs a bearer token (MCP_TOKEN) of at least ${MIN_MCP_TOKEN_LENGTH} characters: it does not serve ${host}:${port} without one`,
    );
  }
  const expected = sha256(options.token);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { pathname } = new URL(request.url ?? '/', 'http://mcp.invalid');
    if (pathname === '/healthz' && request.method === 'GET') {
      sendJson(response, 200, { status: 'ok' });
      return;
    }
    if (pathname !== '/mcp') {
      sendJson(response, 404, { error: 'not found: the MCP endpoint is POST /mcp' });
      return;
    }
    if (!hostAllowed(host, request.headers.host)) {
      logger.warn({ host: request.headers.host }, 'refused a request with a foreign Host header');
      sendJson(response, 403, rpcError(`Host ${request.headers.host ?? '(none)'} not allowed`));
      return;
    }
    if (!bearerMatches(expected, request.headers.authorization)) {
      const presented = request.headers.authorization !== undefined;
      logger.warn({ presented }, 'refused a request without the MCP token');
      sendJson(
        response,
        401,
        rpcError(
          presented
            ? 'the bearer token is not valid for this MCP server'
            : 'this MCP server needs a bearer token (Authorization: Bearer <MCP_TOKEN>)',
        ),
        { 'www-authenticate': 'Bearer realm="relguard-mcp"' },
      );
      return;
    }
    if (request.method !== 'POST') {
      sendJson(
        response,
        405,
        rpcError('method not allowed: this MCP server is stateless, POST JSON-RPC to /mcp'),
        { allow: 'POST' },
      );
      return;
    }

    const server = createPrometheusMcpServer(client, { logger });
    server.server.onerror = (error) => logger.warn({ err: error }, 'MCP protocol error');
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    response.on('close', () => {
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request, response);
  }

  const httpServer = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error }, 'MCP request failed');
      if (!response.headersSent) sendJson(response, 500, rpcError('internal server error'));
      else response.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address();
  const boundPort = address !== null && typeof address === 'object' ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${boundPort}/mcp`,
    async close(graceMs = 5_000) {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      const force = setTimeout(() => httpServer.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(force);
    },
  };
}
