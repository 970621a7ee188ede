import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PrometheusClient, PrometheusError } from '../../activities/metrics/prometheus';

interface Seen {
  path: string;
  query: string | null;
  time: string | null;
  authorization: string | undefined;
}

type Answer = (response: ServerResponse) => void;

const json =
  (status: number, body: unknown): Answer =>
  (response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
const success = (resultType: string, result: unknown) =>
  json(200, { status: 'success', data: { resultType, result } });

/** A stand-in Prometheus that answers whatever the test sets, and records what it was asked. */
let server: Server;
let baseUrl: string;
let answer: Answer;
let seen: Seen[];

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    seen.push({
      path: url.pathname,
      query: url.searchParams.get('query'),
      time: url.searchParams.get('time'),
      authorization: request.headers.authorization,
    });
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen = [];
  answer = success('vector', []);
});

async function failure(promise: Promise<unknown>): Promise<PrometheusError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PrometheusError);
  return error as PrometheusError;
}

describe('PrometheusClient', () => {
  it('asks GET /api/v1/query with the query and the time in seconds', async () => {
    const client = new PrometheusClient({ url: `${baseUrl}/prom` });
    await client.query('sum(up{app="shop"})', 1_700_000_000_500);
    expect(seen).toEqual([
      {
        path: '/prom/api/v1/query',
        query: 'sum(up{app="shop"})',
        time: '1700000000.5',
        authorization: undefined,
      },
    ]);
  });

  it('parses a vector: labels, timestamps and values, special values included', async () => {
    answer = success('vector', [
      { metric: { instance: 'm1' }, value: [1700000000.25, '0.31'] },
      { metric: { instance: 'm2' }, value: [1700000000.25, '+Inf'] },
      { metric: { instance: 'm3' }, value: [1700000000.25, 'NaN'] },
    ]);
    const result = await new PrometheusClient({ url: baseUrl }).instantQuery('up');
    expect(result).toEqual({
      resultType: 'vector',
      samples: [
        { metric: { instance: 'm1' }, timestamp: 1700000000250, value: 0.31 },
        { metric: { instance: 'm2' }, timestamp: 1700000000250, value: Infinity },
        { metric: { instance: 'm3' }, timestamp: 1700000000250, value: NaN },
      ],
    });
  });

  it('gives the single value of a one-series vector and of a scalar', async () => {
    const client = new PrometheusClient({ url: baseUrl });
    answer = success('vector', [{ metric: {}, value: [1, '0.05'] }]);
    expect(await client.query('q')).toBe(0.05);
    answer = success('scalar', [1, '42']);
    expect(await client.query('scalar(q)')).toBe(42);
  });

  it('gives undefined for an empty vector', async () => {
    expect(await new PrometheusClient({ url: baseUrl }).query('absent_metric')).toBeUndefined();
  });

  it('refuses a query that returns several series, naming the query and the series', async () => {
    answer = success('vector', [
      { metric: { instance: 'm1' }, value: [1, '1'] },
      { metric: { instance: 'm2' }, value: [1, '2'] },
    ]);
    const error = await failure(new PrometheusClient({ url: baseUrl }).query('up{app="shop"}'));
    expect(error.errorType).toBe('unexpected_result');
    expect(error.message).toContain('up{app="shop"} returned 2 series');
    expect(error.message).toContain('{instance="m1"}');
  });

  it('refuses a matrix, which an instant query of a range selector returns', async () => {
    answer = success('matrix', []);
    const error = await failure(new PrometheusClient({ url: baseUrl }).query('up[1m]'));
    expect(error.message).toBe(
      'unexpected_result: expected an instant vector or a scalar, got matrix',
    );
  });

  it("turns status error into a typed error with Prometheus' errorType and error", async () => {
    answer = json(400, {
      status: 'error',
      errorType: 'bad_data',
      error: '1:5: parse error: unexpected end of input',
    });
    const error = await failure(new PrometheusClient({ url: baseUrl }).query('sum('));
    expect(error).toMatchObject({
      errorType: 'bad_data',
      error: '1:5: parse error: unexpected end of input',
      query: 'sum(',
      status: 400,
      message: 'bad_data: 1:5: parse error: unexpected end of input',
    });
  });

  it('turns a 500 that is not Prometheus JSON into bad_response with the status', async () => {
    answer = (response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html>Bad Gateway</html>');
    };
    const error = await failure(new PrometheusClient({ url: baseUrl }).query('up'));
    expect(error).toMatchObject({ errorType: 'bad_response', status: 502 });
    expect(error.message).toBe(
      'bad_response: HTTP 502, not Prometheus JSON: <html>Bad Gateway</html>',
    );
  });

  it('gives up after timeoutMs with client_timeout', async () => {
    answer = () => {
      // Never answers; the client must not wait for it.
    };
    const started = Date.now();
    const error = await failure(new PrometheusClient({ url: baseUrl, timeoutMs: 200 }).query('up'));
    expect(error.errorType).toBe('client_timeout');
    expect(error.message).toContain('within 200 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports a Prometheus that is not there as network', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(
      new PrometheusClient({ url: `http://127.0.0.1:${port}` }).query('up'),
    );
    expect(error.errorType).toBe('network');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('sends basic or bearer credentials, and never puts them in an error', async () => {
    answer = json(401, { status: 'error', errorType: 'unauthorized', error: 'no' });
    const basic = new PrometheusClient({
      url: baseUrl,
      auth: { type: 'basic', username: 'guard', password: 's3cret' },
    });
    const basicError = await failure(basic.query('up'));
    const bearer = new PrometheusClient({ url: baseUrl, auth: { type: 'bearer', token: 'tok3n' } });
    const bearerError = await failure(bearer.query('up'));
    expect(seen.map((request) => request.authorization)).toEqual([
      `Basic ${Buffer.from('guard:s3cret').toString('base64')}`,
      'Bearer tok3n',
    ]);
    for (const error of [basicError, bearerError]) {
      expect(JSON.stringify({ ...error, message: error.message })).not.toMatch(/s3cret|tok3n/);
    }
  });
});
