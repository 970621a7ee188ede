import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultView } from '../../mockserver/faults/registry';
import type { MockServer } from '../../mockserver/server';
import {
  call,
  failureOf,
  many,
  metricValue,
  openLoop,
  startServer,
  type HttpResult,
  type TimedResult,
} from './helpers';

let server: MockServer;

beforeAll(async () => {
  server = await startServer({ app: 'shop', version: 'v2.0.1', instance: 'machine-7' });
});
afterEach(async () => {
  await call(`${server.url}/faults/reset`, { method: 'POST' });
});
afterAll(() => server.close());

const startFault = async (spec: unknown): Promise<FaultView> => {
  const response = await call(`${server.url}/faults`, { method: 'POST', body: spec });
  expect(response.status, response.body).toBe(201);
  return JSON.parse(response.body) as FaultView;
};
const pay = () =>
  call(`${server.url}/api/pay`, {
    method: 'POST',
    body: { order_id: 'ord-1', amount_cents: 1200 },
  });
const orders = () => call(`${server.url}/api/orders`);
const user = (id = 7) => call(`${server.url}/api/users/${id}`);
const share = (results: HttpResult[], test: (result: HttpResult) => boolean) =>
  results.filter(test).length / results.length;
const mean = (results: HttpResult[]) =>
  results.reduce((sum, result) => sum + result.ms, 0) / results.length;
const median = (results: HttpResult[]) =>
  results.map((result) => result.ms).sort((left, right) => left - right)[
    Math.floor(results.length / 2)
  ] ?? Number.NaN;

describe('demo application', () => {
  it('serves orders, users, payments, health and version', async () => {
    expect(JSON.parse((await orders()).body)).toMatchObject({
      orders: expect.arrayContaining([expect.objectContaining({ id: 'ord-1000' })]) as unknown,
    });
    expect(JSON.parse((await user(42)).body)).toMatchObject({ id: 42 });
    expect((await user(Number.NaN)).status).toBe(400);
    const payment = await pay();
    expect(payment.status).toBe(201);
    expect(JSON.parse(payment.body)).toMatchObject({ status: 'captured', amount_cents: 1200 });
    const badPayment = await call(`${server.url}/api/pay`, { method: 'POST', body: { amount: 1 } });
    expect(badPayment.status).toBe(400);
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
    expect(JSON.parse((await call(`${server.url}/version`)).body)).toMatchObject({
      app: 'shop',
      version: 'v2.0.1',
      instance: 'machine-7',
    });
  });

  it('has a realistic baseline latency unless it is turned off', async () => {
    // Timed by the server's own histogram, which a busy test machine disturbs far less.
    const fastPayments = async (target: string): Promise<number | undefined> => {
      await many(20, 10, () =>
        call(`${target}/api/pay`, { method: 'POST', body: { order_id: 'o', amount_cents: 1 } }),
      );
      const metrics = (await call(`${target}/metrics`)).body;
      return metricValue(metrics, 'http_request_duration_seconds_bucket', {
        route: '/api/pay',
        status: '201',
        le: '0.01',
      });
    };
    const realistic = await startServer({ baselineLatency: true });
    try {
      // /api/pay's baseline is 15..45 ms: none of them can be under 10 ms.
      expect(await fastPayments(realistic.url)).toBe(0);
    } finally {
      await realistic.close();
    }
    expect(await fastPayments(server.url)).toBeGreaterThanOrEqual(15);
  });
});

describe('error fault', () => {
  it('fails the asked share of requests on its routes only', async () => {
    await startFault({ type: 'error', params: { rate: 0.3, routes: ['/api/pay'] } });
    const payments = await many(400, 20, () => pay());
    const rate = share(payments, (result) => result.status === 500);
    expect(rate).toBeGreaterThan(0.22);
    expect(rate).toBeLessThan(0.38);
    expect(share(payments, (result) => result.status === 500 || result.status === 201)).toBe(1);
    const failed = payments.find((result) => result.status === 500);
    expect(JSON.parse(failed?.body ?? '{}')).toMatchObject({ error: { code: 'injected_fault' } });

    const untouched = await many(150, 20, (index) => (index % 2 === 0 ? orders() : user(index)));
    expect(untouched.every((result) => result.status === 200)).toBe(true);
  });

  it('uses its status, and never touches /healthz, /metrics, /version or /faults', async () => {
    await startFault({ type: 'error', params: { rate: 1, status: 503 } });
    const business = await Promise.all([orders(), user(), pay()]);
    expect(business.map((result) => result.status)).toEqual([503, 503, 503]);
    for (const path of ['/healthz', '/metrics', '/version', '/faults']) {
      expect((await call(`${server.url}${path}`)).status, path).toBe(200);
    }
  });
});

describe('latency fault', () => {
  // A few hundred requests each, in groups: a delayed request only sleeps, so a group costs
  // little more than the delay. Groups stay small enough that answering a group's requests,
  // which all wake together, adds only a few ms to the measured times.
  it('delays its routes by the asked time and leaves others alone', async () => {
    await startFault({ type: 'latency', params: { ms: 120, routes: ['/api/users/:id'] } });
    const delayed = await many(300, 25, (index) => user(index));
    expect(Math.min(...delayed.map((result) => result.ms))).toBeGreaterThanOrEqual(118);
    expect(mean(delayed)).toBeLessThan(120 + 40);
    const others = await many(300, 10, () => orders());
    expect(median(others)).toBeLessThan(60);
  });

  it('hits the asked percent of requests', async () => {
    await startFault({ type: 'latency', params: { ms: 150, percent: 50 } });
    const results = await many(300, 25, () => orders());
    const delayed = share(results, (result) => result.ms >= 145);
    expect(delayed).toBeGreaterThan(0.38);
    expect(delayed).toBeLessThan(0.62);
  });

  it('spreads the delay over ms ± jitter_ms', async () => {
    await startFault({ type: 'latency', params: { ms: 100, jitter_ms: 40 } });
    const results = await many(300, 25, () => orders());
    const delays = results.map((result) => result.ms);
    // Uniform over 60..140 ms: of 300 delays, the chance that none falls in 60..80 ms (or in
    // 120..140 ms) is 0.75^300, so both ends of the spread must show.
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(59);
    expect(Math.min(...delays)).toBeLessThan(80);
    expect(Math.max(...delays)).toBeGreaterThan(120);
    expect(Math.max(...delays)).toBeLessThan(140 + 60);
  });
});

/*
 * Seen from outside, a request proves the fault active (or gone) at some moment between
 * sending it and receiving the answer. So the fault ended after the last faulted request was
 * sent and before the first clean one was answered; both must lie within 200 ms of ends_at.
 * The requests go out on an open loop every 10 ms, so their send times do not depend on how
 * slow the answers are.
 */
function faultEnd<T>(samples: TimedResult<T>[], faulted: (result: T) => boolean) {
  const faultedSamples = samples.filter((sample) => faulted(sample.result));
  const cleanSamples = samples.filter((sample) => !faulted(sample.result));
  return {
    lastFaultedSentAt: Math.max(...faultedSamples.map((sample) => sample.sentAt)),
    firstCleanReceivedAt: Math.min(...cleanSamples.map((sample) => sample.receivedAt)),
  };
}

describe('fault deadlines, seen from outside', () => {
  it('an error fault stops failing requests at its deadline (±200 ms)', async () => {
    const fault = await startFault({
      type: 'error',
      params: { rate: 1, routes: ['/api/orders'] },
      duration: '1s',
    });
    const deadline = Date.parse(fault.ends_at ?? '');
    const samples = await openLoop(10, deadline + 500, () => orders());
    const failed = (result: HttpResult) => result.status === 500;

    const answeredWellBefore = samples.filter((sample) => sample.receivedAt < deadline - 200);
    const sentWellAfter = samples.filter((sample) => sample.sentAt > deadline + 200);
    expect(answeredWellBefore.length).toBeGreaterThan(20);
    expect(sentWellAfter.length).toBeGreaterThan(10);
    expect(answeredWellBefore.every((sample) => failed(sample.result))).toBe(true);
    expect(sentWellAfter.every((sample) => sample.result.status === 200)).toBe(true);

    const end = faultEnd(samples, failed);
    expect(end.lastFaultedSentAt - deadline).toBeGreaterThanOrEqual(-200);
    expect(end.firstCleanReceivedAt - deadline).toBeLessThanOrEqual(200);
  });

  it('a latency fault stops delaying requests at its deadline (±200 ms)', async () => {
    const fault = await startFault({
      type: 'latency',
      params: { ms: 250, routes: ['/api/orders'] },
      duration: '1s',
    });
    const deadline = Date.parse(fault.ends_at ?? '');
    const samples = await openLoop(10, deadline + 500, () => orders());
    // Whether a request is delayed is decided when it arrives; a delayed one takes ≥ 250 ms,
    // a clean one a few ms, so half the delay tells them apart with room for a busy machine.
    const delayed = (result: HttpResult) => result.ms >= 125;

    const answeredWellBefore = samples.filter((sample) => sample.receivedAt < deadline - 200);
    const sentWellAfter = samples.filter((sample) => sample.sentAt > deadline + 200);
    expect(answeredWellBefore.length).toBeGreaterThan(20);
    expect(sentWellAfter.length).toBeGreaterThan(10);
    expect(answeredWellBefore.every((sample) => sample.result.ms >= 248)).toBe(true);
    expect(sentWellAfter.every((sample) => !delayed(sample.result))).toBe(true);
    expect(samples.every((sample) => sample.result.status === 200)).toBe(true);

    const end = faultEnd(samples, delayed);
    expect(end.lastFaultedSentAt - deadline).toBeGreaterThanOrEqual(-200);
    expect(end.firstCleanReceivedAt - deadline).toBeLessThanOrEqual(200);
  });
});

describe('several faults at once', () => {
  it('adds up on a shared route and stays apart on different routes', async () => {
    await startFault({ type: 'latency', params: { ms: 50, routes: ['/api/orders'] } });
    await startFault({ type: 'latency', params: { ms: 70, routes: ['/api/orders'] } });
    await startFault({ type: 'error', params: { rate: 1, status: 502, routes: ['/api/pay'] } });
    await startFault({
      type: 'error',
      params: { rate: 1, status: 429, routes: ['/api/users/:id'] },
    });
    const [slow, paid, looked] = await Promise.all([orders(), pay(), user()]);
    expect(slow?.status).toBe(200);
    expect(slow?.ms).toBeGreaterThanOrEqual(118);
    expect(paid?.status).toBe(502);
    expect(paid?.ms).toBeLessThan(100);
    expect(looked?.status).toBe(429);
  });
});

describe('network fault', () => {
  it('drops connections on its routes only', async () => {
    await startFault({ type: 'network', params: { drop: true, routes: ['/api/orders'] } });
    expect(await failureOf(orders())).toBe('ECONNRESET');
    expect((await user()).status).toBe(200);
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
  });

  it('can take /healthz and /metrics off the network like a partitioned host', async () => {
    await startFault({ type: 'network', params: { drop: true, routes: ['/healthz', '/metrics'] } });
    expect(await failureOf(call(`${server.url}/healthz`))).toBe('ECONNRESET');
    expect(await failureOf(call(`${server.url}/metrics`))).toBe('ECONNRESET');
    expect((await orders()).status).toBe(200);
    expect((await call(`${server.url}/faults`)).status).toBe(200);
  });

  it('hangs requests until the fault ends, then resets them', async () => {
    const started = Date.now();
    await startFault({ type: 'network', params: { timeout: true }, duration: '800ms' });
    const hung = failureOf(orders());
    const abandoned = new AbortController();
    const givenUp = failureOf(call(`${server.url}/api/users/1`, { signal: abandoned.signal }));
    setTimeout(() => abandoned.abort(), 200);
    expect(await givenUp).toBe('ABORT_ERR');
    expect((await call(`${server.url}/faults`)).status).toBe(200);
    expect(await hung).toBe('ECONNRESET');
    expect(Math.abs(Date.now() - started - 800)).toBeLessThanOrEqual(200);
    expect((await orders()).status).toBe(200);
  });

  it('trickles response bodies at the asked bandwidth', async () => {
    const size = (await orders()).body.length;
    await startFault({
      type: 'network',
      params: { bandwidth_kbps: 16, routes: ['/api/orders'] },
    });
    const throttled = await orders();
    expect(throttled.status).toBe(200);
    expect(throttled.body.length).toBe(size);
    const expectedMs = (size / (16_000 / 8)) * 1000;
    expect(throttled.ms).toBeGreaterThan(expectedMs * 0.8);
    expect(throttled.ms).toBeLessThan(expectedMs * 1.5 + 200);
    expect((await user()).ms).toBeLessThan(50);
  });

  it('hits only the asked percent of requests', async () => {
    await startFault({ type: 'network', params: { drop: true, percent: 30 } });
    const outcomes = await many(200, 10, () => failureOf(user()));
    const dropped = outcomes.filter((outcome) => outcome === 'ECONNRESET').length / 200;
    expect(dropped).toBeGreaterThan(0.2);
    expect(dropped).toBeLessThan(0.4);
    expect(
      outcomes.every((outcome) => outcome === 'ECONNRESET' || outcome === 'answered 200'),
    ).toBe(true);
  });
});

describe('metrics', () => {
  it('labels requests by route template with app, version and instance', async () => {
    await many(5, 5, (index) => user(1000 + index));
    await startFault({ type: 'error', params: { rate: 1, routes: ['/api/pay'] } });
    await pay();
    const metrics = (await call(`${server.url}/metrics`)).body;
    const identity = { app: 'shop', version: 'v2.0.1', instance: 'machine-7' };
    expect(
      metricValue(metrics, 'http_requests_total', {
        ...identity,
        route: '/api/users/:id',
        method: 'GET',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(5);
    expect(
      metricValue(metrics, 'http_requests_total', { route: '/api/pay', status: '500' }),
    ).toBeGreaterThanOrEqual(1);
    expect(metrics).not.toMatch(/route="\/api\/users\/\d/);
    expect(
      metricValue(metrics, 'http_request_duration_seconds_bucket', {
        ...identity,
        route: '/api/users/:id',
        le: '0.005',
      }),
    ).toBeGreaterThanOrEqual(5);
    expect(metricValue(metrics, 'http_request_duration_seconds_count', identity)).toBeGreaterThan(
      0,
    );
    expect(metricValue(metrics, 'mockserver_fault_active', { ...identity, type: 'error' })).toBe(1);
    expect(metricValue(metrics, 'process_cpu_seconds_total', identity)).toBeGreaterThan(0);
    expect(metricValue(metrics, 'process_resident_memory_bytes', identity)).toBeGreaterThan(0);
  });
});
