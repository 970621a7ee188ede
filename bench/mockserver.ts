/**
 * Throughput and p99 of the mockserver's GET /api/orders (no fault, baseline latency off)
 * against a bare node:http server that answers the same JSON, both as their own processes
 * on 127.0.0.1, driven by a closed loop of keep-alive connections at a fixed concurrency.
 * Rounds alternate between the two so drift on a shared machine hits both alike.
 *
 *   npx tsx bench/mockserver.ts [--seconds 3] [--rounds 2] [--concurrency 32]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildMockserverBundle } from '../test/support/mockserver-bundle';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '32' },
  },
});
const roundMs = Number(values.seconds) * 1000;
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const targetRatio = 0.7;

// What the mockserver's /api/orders returns, so both servers put the same bytes on the wire.
const bareServerSource = `
const http = require('node:http');
const products = ['keyboard', 'monitor', 'headset', 'webcam', 'dock', 'mouse', 'lamp', 'chair'];
const body = JSON.stringify({ orders: Array.from({ length: 12 }, (_, index) => ({
  id: 'ord-' + (1000 + index), user_id: (index * 37) % 500, item: products[index % products.length],
  quantity: (index % 3) + 1, amount_cents: 1999 + index * 350, currency: 'EUR',
  status: index % 5 === 0 ? 'shipped' : 'paid' })) });
http.createServer((request, response) => {
  if (request.url === '/api/orders') {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  } else if (request.url === '/healthz') {
    response.end('{"status":"ok"}');
  } else {
    response.writeHead(404);
    response.end();
  }
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface RoundResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}: not healthy within 20 s`);
}

async function startServer(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child);
  return { url, child };
}

const requestBytes = Buffer.from('GET /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
const headerEnd = Buffer.from('\r\n\r\n');
const contentLengthPattern = /\r\ncontent-length: *(\d+)/i;

/**
 * `concurrency` keep-alive connections, each sending its next request when the last answer
 * is complete. Raw sockets rather than node:http's client: that client spends about as much
 * CPU per request as the server, so on a 2-core machine it saturates first and the ratio
 * would measure the client (runs with it swung between 0.75 and 1.0).
 */
async function closedLoop(url: string, durationMs: number): Promise<RoundResult> {
  const { hostname, port } = new URL(url);
  const latenciesMs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const connection = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect(Number(port), hostname);
      socket.setNoDelay(true);
      let buffered: Buffer = Buffer.alloc(0);
      let sent = 0;
      const next = (): void => {
        if (performance.now() >= deadline) {
          socket.end();
          return;
        }
        sent = performance.now();
        socket.write(requestBytes);
      };
      socket.on('connect', next);
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        for (;;) {
          const end = buffered.indexOf(headerEnd);
          if (end === -1) return;
          const head = buffered.subarray(0, end).toString('latin1');
          const length = Number(contentLengthPattern.exec(head)?.[1] ?? 0);
          const total = end + headerEnd.length + length;
          if (buffered.length < total) return;
          if (head.startsWith('HTTP/1.1 200')) latenciesMs.push(performance.now() - sent);
          else errors += 1;
          buffered = buffered.subarray(total);
          next();
        }
      });
      socket.on('error', () => {
        errors += 1;
        resolve();
      });
      socket.on('close', () => resolve());
    });
  await Promise.all(Array.from({ length: concurrency }, connection));
  const seconds = (performance.now() - started) / 1000;
  return { requests: latenciesMs.length, errors, seconds, latenciesMs };
}

function summarize(results: RoundResult[]): { rps: number; p99Ms: number; errors: number } {
  const requests = results.reduce((sum, result) => sum + result.requests, 0);
  const seconds = results.reduce((sum, result) => sum + result.seconds, 0);
  const latencies = results.flatMap((result) => result.latenciesMs).sort((a, b) => a - b);
  const p99 = latencies[Math.max(0, Math.ceil(latencies.length * 0.99) - 1)] ?? 0;
  return {
    rps: Math.round(requests / seconds),
    p99Ms: Math.round(p99 * 100) / 100,
    errors: results.reduce((sum, result) => sum + result.errors, 0),
  };
}

async function main(): Promise<void> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'mockserver-bench-'));
  const bundle = path.join(outDir, 'main.js');
  const servers: ChildProcess[] = [];
  try {
    await buildMockserverBundle(bundle);
    const bare = await startServer(['-e', bareServerSource]);
    const mock = await startServer([bundle, '--no-baseline-latency']);
    servers.push(bare.child, mock.child);

    // Warm-up: JIT and keep-alive connections on both sides before anything counts.
    await closedLoop(bare.url, 1_000);
    await closedLoop(mock.url, 1_000);

    const bareRounds: RoundResult[] = [];
    const mockRounds: RoundResult[] = [];
    for (let round = 0; round < rounds; round += 1) {
      bareRounds.push(await closedLoop(bare.url, roundMs));
      mockRounds.push(await closedLoop(mock.url, roundMs));
    }
    const bareSummary = summarize(bareRounds);
    const mockSummary = summarize(mockRounds);
    const ratio = Math.round((mockSummary.rps / bareSummary.rps) * 1000) / 1000;
    process.stdout.write(
      `bare node:http  ${bareSummary.rps} req/s  p99 ${bareSummary.p99Ms} ms\n` +
        `mockserver      ${mockSummary.rps} req/s  p99 ${mockSummary.p99Ms} ms\n` +
        `ratio           ${ratio} (target >= ${targetRatio})\n`,
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'mockserver',
        endpoint: 'GET /api/orders',
        concurrency,
        seconds_per_server: (roundMs * rounds) / 1000,
        bare_rps: bareSummary.rps,
        bare_p99_ms: bareSummary.p99Ms,
        mockserver_rps: mockSummary.rps,
        mockserver_p99_ms: mockSummary.p99Ms,
        errors: bareSummary.errors + mockSummary.errors,
        ratio,
        target: targetRatio,
        meets_target: ratio >= targetRatio,
      })}\n`,
    );
  } finally {
    for (const child of servers) child.kill('SIGTERM');
    rmSync(outDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
