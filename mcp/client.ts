import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { LevelWithSilent } from 'pino';
import type { PrometheusAuth } from '../activities/metrics';
import { errorMessage } from '../domain/errors';
import packageJson from '../package.json' with { type: 'json' };

export type { Tool };

export interface ConnectPrometheusMcpOptions {
  prometheusUrl: string;
  auth?: PrometheusAuth;
  /** How long the server waits for Prometheus per tool call. Default 10 s. */
  timeoutMs?: number;
  /** The server's log level; its logs go to this process' stderr. Default warn. */
  logLevel?: LevelWithSilent;
}

export interface PrometheusMcpSession {
  /** The server process, while it runs. */
  readonly pid: number | null;
  listTools(): Promise<Tool[]>;
  /**
   * Calls a tool; `ok` is false and `text` says why when the tool failed (bad PromQL,
   * Prometheus down, a timeout). Rejects only when the server is gone.
   */
  callTool(name: string, args?: Record<string, unknown>): Promise<{ ok: boolean; text: string }>;
  /** Ends the server process (stdin first, then SIGTERM, then SIGKILL). */
  close(): Promise<void>;
}

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const serverEntry = fileURLToPath(new URL('./main.ts', import.meta.url));

// McpError codes are plain numbers on the wire; the enum only names them.
const CONNECTION_CLOSED: number = ErrorCode.ConnectionClosed;
const REQUEST_TIMEOUT: number = ErrorCode.RequestTimeout;

/** Room for the server's own timeout message to arrive before the client gives up. */
const RESPONSE_MARGIN_MS = 5_000;

function authEnv(auth: PrometheusAuth | undefined): Record<string, string> {
  if (auth === undefined) return {};
  if (auth.type === 'bearer') return { PROMETHEUS_BEARER_TOKEN: auth.token };
  return { PROMETHEUS_USERNAME: auth.username, PROMETHEUS_PASSWORD: auth.password };
}

/**
 * Spawns the Prometheus MCP server (mcp/main.ts --stdio) as a child process and connects to
 * it. The child inherits only HOME, PATH and the like, so the Prometheus settings are handed
 * over in its environment, which no log line shows.
 */
export async function connectPrometheusMcp(
  options: ConnectPrometheusMcpOptions,
): Promise<PrometheusMcpSession> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', serverEntry, '--stdio'],
    // tsx is resolved from the working directory: the project's, wherever the worker runs.
    cwd: projectRoot,
    env: {
      PROMETHEUS_URL: options.prometheusUrl,
      ...authEnv(options.auth),
      MCP_QUERY_TIMEOUT_MS: String(timeoutMs),
      LOG_LEVEL: options.logLevel ?? 'warn',
    },
    stderr: 'pipe',
  });
  // Passed on as it comes, and the tail kept to explain a server that fails to start.
  let stderrTail = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    process.stderr.write(chunk);
  });

  const client = new Client({ name: 'relguard-analysis', version: packageJson.version });
  try {
    await client.connect(transport, { timeout: 30_000 });
  } catch (error) {
    await transport.close();
    const reason = errorMessage(error);
    const output = stderrTail.trim();
    throw new Error(
      `the Prometheus MCP server (${serverEntry}) did not start: ${reason}` +
        (output ? `\n${output}` : ''),
      { cause: error },
    );
  }

  return {
    get pid() {
      return transport.pid;
    },
    async listTools() {
      return (await client.listTools()).tools;
    },
    async callTool(name, args = {}) {
      try {
        const result = await client.callTool({ name, arguments: args }, undefined, {
          timeout: timeoutMs + RESPONSE_MARGIN_MS,
        });
        const content = Array.isArray(result.content) ? result.content : [];
        const text = content
          .flatMap((item: { type: string; text?: unknown }) =>
            item.type === 'text' && typeof item.text === 'string' ? [item.text] : [],
          )
          .join('\n');
        return { ok: result.isError !== true, text };
      } catch (error) {
        // Only a live connection's refusals are the tool's failure; anything else is ours.
        if (!(error instanceof McpError) || error.code === CONNECTION_CLOSED) throw error;
        if (error.code === REQUEST_TIMEOUT) {
          return {
            ok: false,
            text: `${name} got no answer within ${timeoutMs + RESPONSE_MARGIN_MS} ms`,
          };
        }
        return { ok: false, text: `${name} failed: ${error.message}` };
      }
    },
    async close() {
      await client.close();
    },
  };
}
