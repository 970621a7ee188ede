import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { httpOk } from '../support/service';
import { projectRoot } from '../support/tools';

/** How `npm run mcp` starts the server, without npm in between to pass signals on. */
export const mcpCommand = {
  command: process.execPath,
  args: ['--import', 'tsx', path.join(projectRoot, 'mcp', 'main.ts')],
  cwd: projectRoot,
};

/** Only what a server needs: the test runner's environment must not leak settings into it. */
function mcpEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env };
}

export interface McpProcess {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after 10 s; resolves with how it ended. */
  stop(): Promise<number | string>;
}

export function spawnMcp(args: string[], env: Record<string, string>): McpProcess {
  const child = spawn(mcpCommand.command, [...mcpCommand.args, ...args], {
    cwd: mcpCommand.cwd,
    env: mcpEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const ended = await Promise.race([exited.then(() => true), delay(10_000, false)]);
        if (!ended) child.kill('SIGKILL');
      }
      return await exited;
    },
  };
}

/** The MCP_TOKEN the HTTP servers of the tests are started with (unless a test gives its own). */
export const TEST_MCP_TOKEN = 'test-mcp-token-0123456789abcdef0123456789';

/** The headers a client of a test's HTTP server sends: its bearer token. */
export const mcpAuthHeaders = { authorization: `Bearer ${TEST_MCP_TOKEN}` };

/** The HTTP server, once it answers on 127.0.0.1:port. */
export async function startMcpHttp(
  port: number,
  env: Record<string, string>,
): Promise<McpProcess & { url: string }> {
  const server = spawnMcp([], {
    MCP_HOST: '127.0.0.1',
    MCP_PORT: String(port),
    MCP_TOKEN: TEST_MCP_TOKEN,
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.process.exitCode !== null) {
      throw new Error(`the MCP server exited before it was ready:\n${server.stderr()}`);
    }
    if (await httpOk(`${base}/healthz`).catch(() => false))
      return { ...server, url: `${base}/mcp` };
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`the MCP server did not answer in 30 s:\n${server.stderr()}`);
    }
    await delay(100);
  }
}
