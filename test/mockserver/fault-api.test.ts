import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultView } from '../../mockserver/faults/registry';
import type { MockServer } from '../../mockserver/server';
import { call, callJson, metricValue, pollUntil, sleep, startServer } from './helpers';

interface ErrorBody {
  error: { code: string; message: string; details: { parameter: string; message: string }[] };
}

let server: MockServer;

beforeAll(async () => {
  // A low memory cap makes the cross-fault limit cheap to reach.
  server = await startServer({ limits: { memoryMb: 96 } });
});
afterEach(async () => {
  await call(`${server.url}/faults/reset`, { method: 'POST' });
});
afterAll(() => server.close());

const post = (body: unknown) =>
  callJson<FaultView & ErrorBody>(`${server.url}/faults`, { method: 'POST', body });
const list = async () => (await callJson<{ faults: FaultView[] }>(`${server.url}/faults`)).faults;

describe('fault API', () => {
  it('creates a fault with its id, normalized params and deadline, and lists it', async () => {
    const created = await post({ type: 'error', params: { rate: 0.5 }, duration: '30s' });
    expect(created.httpStatus).toBe(201);
    expect(created).toMatchObject({
      id: expect.stringMatching(/^error-\d+$/) as string,
      type: 'error',
      params: { rate: 0.5, status: 500 },
      source: 'api',
      duration_ms: 30_000,
    });
    expect(Date.parse(created.ends_at ?? '') - Date.parse(created.started_at)).toBe(30_000);

    await sleep(50);
    const [listed] = await list();
    expect(listed?.id).toBe(created.id);
    expect(listed?.remaining_ms).toBeLessThan(30_000 - 40);
    expect(listed?.remaining_ms).toBeGreaterThan(25_000);

    const one = await callJson<FaultView>(`${server.url}/faults/${created.id}`);
    expect(one).toMatchObject({ httpStatus: 200, id: created.id });
  });

  it('keeps a fault without duration until it is deleted, then answers 404 for it', async () => {
    const created = await post({ type: 'latency', params: { ms: 5 } });
    expect(created).toMatchObject({ httpStatus: 201, ends_at: null, remaining_ms: null });

    const deleted = await callJson<FaultView>(`${server.url}/faults/${created.id}`, {
      method: 'DELETE',
    });
    expect(deleted).toMatchObject({ httpStatus: 200, id: created.id });
    expect(await list()).toEqual([]);

    const again = await callJson<ErrorBody>(`${server.url}/faults/${created.id}`, {
      method: 'DELETE',
    });
    expect(again.httpStatus).toBe(404);
    expect(again.error.code).toBe('not_found');
    expect((await call(`${server.url}/faults/nope-1`)).status).toBe(404);
  });

  it('accepts the curl shorthand with query parameters', async () => {
    const created = await callJson<FaultView>(
      `${server.url}/faults/latency?ms=40&jitter_ms=5&routes=/api/pay,/api/orders&percent=50&duration=2m`,
      { method: 'POST' },
    );
    expect(created).toMatchObject({
      httpStatus: 201,
      type: 'latency',
      params: { ms: 40, jitter_ms: 5, routes: ['/api/pay', '/api/orders'], percent: 50 },
      duration_ms: 120_000,
    });
    const network = await callJson<FaultView>(
      `${server.url}/faults/network?drop=true&routes=/api/pay&routes=/healthz`,
      { method: 'POST' },
    );
    expect(network.params).toMatchObject({ drop: true, routes: ['/api/pay', '/healthz'] });
  });

  it('names the memory growth rate `rate` (MB/s)', async () => {
    const shorthand = await callJson<FaultView>(`${server.url}/faults/memory?mb=8&rate=4`, {
      method: 'POST',
    });
    expect(shorthand).toMatchObject({ httpStatus: 201, params: { mb: 8, rate: 4 } });
  });

  it('resets every fault and the active gauge of every type', async () => {
    await post({ type: 'error', params: { rate: 0.1 } });
    await post({ type: 'error', params: { rate: 0.2 } });
    await post({ type: 'latency', params: { ms: 1 } });
    let metrics = (await call(`${server.url}/metrics`)).body;
    expect(metricValue(metrics, 'mockserver_fault_active', { type: 'error' })).toBe(2);
    expect(metricValue(metrics, 'mockserver_fault_active', { type: 'latency' })).toBe(1);
    expect(metricValue(metrics, 'mockserver_fault_active', { type: 'cpu' })).toBe(0);

    const reset = await callJson<{ stopped: number }>(`${server.url}/faults/reset`, {
      method: 'POST',
    });
    expect(reset).toMatchObject({ httpStatus: 200, stopped: 3 });
    expect(await list()).toEqual([]);
    metrics = (await call(`${server.url}/metrics`)).body;
    for (const type of ['cpu', 'memory', 'latency', 'error', 'network', 'disk', 'crash']) {
      expect(metricValue(metrics, 'mockserver_fault_active', { type })).toBe(0);
    }
  });

  it.each([
    [{ type: 'meteor' }, 'type'],
    [{ params: {} }, 'type'],
    [{ type: 'error', params: { rate: 2 } }, 'params.rate'],
    [{ type: 'error', params: {} }, 'params.rate'],
    [{ type: 'error', params: { rate: 0.1, status: 200 } }, 'params.status'],
    [{ type: 'error', params: { rate: 0.1, routes: ['/api/nope'] } }, 'params.routes.0'],
    [{ type: 'error', params: { rate: 0.1, routes: ['/healthz'] } }, 'params.routes.0'],
    [{ type: 'error', params: { rate: 0.1, colour: 'red' } }, 'params.colour'],
    [{ type: 'latency', params: {} }, 'params.ms'],
    [{ type: 'latency', params: { ms: 10, percent: 101 } }, 'params.percent'],
    [{ type: 'cpu', params: { percent: 0 } }, 'params.percent'],
    [{ type: 'cpu', params: { cores: 999 } }, 'params.cores'],
    [{ type: 'memory', params: { mb: 10, percent: 1 } }, 'params.mb'],
    [{ type: 'memory', params: { mb: 100_000 } }, 'params.mb'],
    [{ type: 'memory', params: { mb: 10, rate: 0 } }, 'params.rate'],
    [{ type: 'memory', params: { mb: 10, rate_mb_s: 5 } }, 'params.rate_mb_s'],
    [{ type: 'network', params: { drop: true, timeout: true } }, 'params.drop'],
    [{ type: 'network', params: {} }, 'params.drop'],
    [{ type: 'disk', params: { mb: -1 } }, 'params.mb'],
    [{ type: 'crash', params: { delay_ms: 'soon' } }, 'params.delay_ms'],
    [{ type: 'error', params: { rate: 0.1 }, duration: '2x' }, 'duration'],
    [{ type: 'error', params: { rate: 0.1 }, duration: '2h' }, 'duration'],
    [{ type: 'error', params: { rate: 0.1 }, duration: 0 }, 'duration'],
    [{ type: 'error', params: { rate: 0.1 }, until: 'later' }, 'until'],
  ])('refuses %j with 400 naming %s', async (body, parameter) => {
    const response = await post(body);
    expect(response.httpStatus).toBe(400);
    expect(response.error.code).toBe('invalid_parameter');
    expect(response.error.message).toContain(parameter);
    expect(response.error.details.map((detail) => detail.parameter)).toContain(parameter);
    expect(await list()).toEqual([]);
  });

  it('refuses a body that is not JSON, and bad shorthand values', async () => {
    const broken = await callJson<ErrorBody>(`${server.url}/faults`, {
      method: 'POST',
      body: '{"type":',
    });
    expect(broken).toMatchObject({ httpStatus: 400, error: { code: 'invalid_json' } });
    const shorthand = await callJson<ErrorBody>(`${server.url}/faults/cpu?percent=300`, {
      method: 'POST',
    });
    expect(shorthand.httpStatus).toBe(400);
    expect(shorthand.error.message).toContain('params.percent');
  });

  it('refuses with 409 a fault that would take the sum over a host limit', async () => {
    const first = await post({ type: 'memory', params: { mb: 60 }, duration: '10s' });
    expect(first.httpStatus).toBe(201);
    const second = await callJson<{ error: { code: string; message: string; details: unknown } }>(
      `${server.url}/faults`,
      { method: 'POST', body: { type: 'memory', params: { mb: 60 } } },
    );
    expect(second.httpStatus).toBe(409);
    expect(second.error.code).toBe('limit_exceeded');
    expect(second.error.message).toContain('params.mb');
    expect(second.error.details).toMatchObject({ requested: 60, in_use: 60, limit: 96 });
    expect((await list()).map((fault) => fault.id)).toEqual([first.id]);
  });

  it('ends each fault at its own deadline, several at once', async () => {
    const specs = [
      { type: 'latency', params: { ms: 1 }, duration: '600ms' },
      { type: 'error', params: { rate: 0.01 }, duration: 1000 },
      { type: 'crash', params: { delay_ms: 60_000 }, duration: '1400ms' },
      { type: 'network', params: { bandwidth_kbps: 1000, routes: ['/api/pay'] }, duration: '1.2s' },
    ];
    const created = await Promise.all(specs.map((spec) => post(spec)));
    const goneAt = new Map<string, number>();
    await pollUntil(
      async () => {
        const active = new Set((await list()).map((fault) => fault.id));
        for (const fault of created) {
          if (!active.has(fault.id) && !goneAt.has(fault.id)) goneAt.set(fault.id, Date.now());
        }
        return goneAt.size === created.length ? true : undefined;
      },
      { timeoutMs: 4_000, intervalMs: 20 },
    );
    for (const fault of created) {
      const lived = (goneAt.get(fault.id) ?? 0) - Date.parse(fault.started_at);
      expect(Math.abs(lived - (fault.duration_ms ?? 0)), fault.id).toBeLessThanOrEqual(200);
    }
    const metrics = (await call(`${server.url}/metrics`)).body;
    expect(metricValue(metrics, 'mockserver_fault_active', { type: 'crash' })).toBe(0);
  });

  it('answers unknown routes and wrong methods with the error envelope', async () => {
    const missing = await callJson<ErrorBody>(`${server.url}/nowhere`);
    expect(missing).toMatchObject({ httpStatus: 404, error: { code: 'not_found' } });
    const wrongMethod = await callJson<ErrorBody>(`${server.url}/api/pay`);
    expect(wrongMethod).toMatchObject({ httpStatus: 405, error: { code: 'method_not_allowed' } });
    const wrongFaultMethod = await callJson<ErrorBody>(`${server.url}/faults/reset`);
    expect(wrongFaultMethod.httpStatus).toBe(405);
    expect(missing.error.message).not.toMatch(/at .*\.ts/);
  });
});
