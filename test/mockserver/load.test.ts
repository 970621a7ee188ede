import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, type LoadSummary } from '../../mockserver/load-generator';
import type { MockServer } from '../../mockserver/server';
import { call, projectRoot, startServer } from './helpers';

let first: MockServer;
let second: MockServer;

beforeAll(async () => {
  [first, second] = await Promise.all([
    startServer({ baselineLatency: true }),
    startServer({ baselineLatency: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});

describe('runLoad', () => {
  it('sends the asked rate over every target and endpoint, and stops at the duration', async () => {
    const started = performance.now();
    const summary = await runLoad({
      targets: [first.url, second.url],
      rps: 100,
      durationMs: 1_500,
    });
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeGreaterThanOrEqual(1_500);
    expect(elapsedMs).toBeLessThan(2_500);
    expect(summary.requests).toBeGreaterThan(130);
    expect(summary.requests).toBeLessThan(170);
    expect(summary).toMatchObject({ ok: summary.requests, errors: {}, error_rate: 0, skipped: 0 });
    for (const target of [first.url, second.url]) {
      expect(summary.by_target[target]?.requests).toBeGreaterThan(summary.requests * 0.4);
    }
    for (const route of ['/api/orders', '/api/users/:id', '/api/pay']) {
      expect(summary.by_route[route]?.requests, route).toBeGreaterThan(0);
    }
    // The demo's baseline latency is a few to tens of ms.
    expect(summary.latency.p50_ms).toBeGreaterThan(2);
    expect(summary.latency.p99_ms).toBeGreaterThanOrEqual(summary.latency.p50_ms);
    expect(summary.latency.p99_ms).toBeLessThan(200);
  });

  it('counts errors by status and by network failure', async () => {
    await call(`${first.url}/faults`, {
      method: 'POST',
      body: { type: 'error', params: { rate: 1, status: 503, routes: ['/api/pay'] } },
    });
    await call(`${second.url}/faults`, {
      method: 'POST',
      body: { type: 'network', params: { drop: true, routes: ['/api/orders'] } },
    });
    try {
      const summary = await runLoad({
        targets: [first.url, second.url],
        rps: 150,
        durationMs: 1_000,
      });
      const payOnFirst = summary.errors['503'] ?? 0;
      expect(payOnFirst).toBeGreaterThan(0);
      expect(summary.errors.ECONNRESET ?? 0).toBeGreaterThan(0);
      expect(summary.by_route['/api/users/:id']?.errors).toBe(0);
      expect(summary.requests - summary.ok).toBe(
        Object.values(summary.errors).reduce((sum, count) => sum + count, 0),
      );
      expect(summary.error_rate).toBeGreaterThan(0);
    } finally {
      await Promise.all(
        [first, second].map((server) => call(`${server.url}/faults/reset`, { method: 'POST' })),
      );
    }
  });

  it('stops early when aborted, and bounds requests in flight', async () => {
    await call(`${first.url}/faults`, {
      method: 'POST',
      body: { type: 'latency', params: { ms: 2_000 } },
    });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 500);
      const summary = await runLoad({
        targets: [first.url],
        rps: 200,
        maxInFlight: 10,
        timeoutMs: 300,
        signal: controller.signal,
      });
      expect(summary.duration_s).toBeLessThan(0.8);
      expect(summary.skipped).toBeGreaterThan(0);
      expect(summary.errors.timeout).toBeGreaterThan(0);
      expect(summary.requests).toBeLessThanOrEqual(30);
    } finally {
      await call(`${first.url}/faults/reset`, { method: 'POST' });
    }
  });
});

describe('npm run load', () => {
  it('runs until SIGINT and prints a JSON summary', async () => {
    const tsxLoader = pathToFileURL(
      path.join(projectRoot, 'node_modules/tsx/dist/loader.mjs'),
    ).href;
    const child = spawn(
      process.execPath,
      [
        '--import',
        tsxLoader,
        path.join(projectRoot, 'mockserver/load.ts'),
        '--targets',
        first.url,
        '--rps',
        '40',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Ctrl-C only once it says it runs: before that, node would die of the signal.
    await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
    setTimeout(() => child.kill('SIGINT'), 1_000);
    expect(await exited).toBe(0);
    const summary = JSON.parse(stdout) as LoadSummary;
    expect(summary.requests).toBeGreaterThan(10);
    expect(summary.targets).toEqual([first.url]);
    expect(summary.latency.p99_ms).toBeGreaterThan(0);
  });
});
