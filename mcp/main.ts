import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { pino } from 'pino';
import { createLogger } from '../activities/logger';
import { PrometheusClient } from '../activities/metrics';
import { ConfigError } from '../domain/config';
import { loadMcpConfig, mcpPrometheusOptions, type McpConfig } from './config';
import { startMcpHttpServer } from './http';
import { createPrometheusMcpServer } from './server';

/**
 * The Prometheus MCP server: `npm run mcp` serves streamable HTTP at MCP_HOST:MCP_PORT/mcp,
 * `npm run mcp -- --stdio` serves one client over stdin/stdout.
 */

const USAGE = 'usage: node --import tsx mcp/main.ts [--stdio]';
const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--stdio');
if (unknown.length > 0) {
  process.stderr.write(`unknown argument ${unknown.join(' ')}\n${USAGE}\n`);
  process.exit(2);
}
const stdio = args.includes('--stdio');

function readConfig(): McpConfig {
  try {
    return loadMcpConfig(process.env, { transport: stdio ? 'stdio' : 'http' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}
const config = readConfig();

// On stderr in both modes: in stdio mode stdout carries the protocol alone, and both modes log
// alike so that one reader fits both.
const logger = createLogger('mcp', config.LOG_LEVEL, pino.destination({ dest: 2, sync: true }));
const client = new PrometheusClient(mcpPrometheusOptions(config));
// The origin only: a URL may carry credentials, and the auth settings are never logged.
const prometheus = client.origin;

let stopping = false;
/** Stops on SIGINT and SIGTERM; the returned function stops for another reason. */
function stopOnSignals(stop: () => Promise<void>): (reason: string) => void {
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'mcp server stopping');
    // Whatever hangs, the process ends: a supervisor's SIGTERM must be final.
    setTimeout(() => process.exit(1), 10_000).unref();
    stop().then(
      () => logger.info('mcp server stopped'),
      (error: unknown) => {
        logger.error({ err: error }, 'mcp server did not stop cleanly');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  return shutdown;
}

if (stdio) {
  const server = createPrometheusMcpServer(client, { logger });
  server.server.onerror = (error) => logger.warn({ err: error }, 'MCP protocol error');
  await server.connect(new StdioServerTransport());
  logger.info({ prometheus, transport: 'stdio' }, 'mcp server started');
  const shutdown = stopOnSignals(() => server.close());
  // A client closes stdin to end the session (the SDK's does, before it sends SIGTERM).
  process.stdin.once('end', () => shutdown('stdin closed'));
} else {
  // loadMcpConfig refuses to serve HTTP without MCP_TOKEN.
  const token = config.MCP_TOKEN ?? '';
  const http = await startMcpHttpServer({
    client,
    host: config.MCP_HOST,
    port: config.MCP_PORT,
    token,
    logger,
  }).catch((error: unknown) => {
    logger.fatal({ err: error }, 'mcp server could not listen');
    process.exit(1);
  });
  logger.info({ prometheus, url: http.url, transport: 'http' }, 'mcp server listening');
  stopOnSignals(() => http.close());
}
