import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PrometheusClient, PrometheusError } from '../../activities/metrics';
import { failure, silence, startStandIn, success, type StandIn } from './stand-in-prometheus';

let prometheus: StandIn;

beforeAll(async () => {
  prometheus = await startStandIn();
});
afterAll(async () => {
  await prometheus.stop();
});
beforeEach(() => {
  prometheus.seen.length = 0;
  prometheus.answers.clear();
});

async function rejection(promise: Promise<unknown>): Promise<PrometheusError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PrometheusError);
  return error as PrometheusError;
}

describe('PrometheusClient.get', () => {
  it("resolves an API path under the base URL's prefix and gives the answer's data", async () => {
    prometheus.answers.set('/prom/api/v1/targets', success({ activeTargets: [] }));
    const client = new PrometheusClient({ url: `${prometheus.url}/prom` });
    // A leading slash must not drop the prefix.
    expect(await client.get('/api/v1/targets', { state: 'active' })).toEqual({
      activeTargets: [],
    });
    expect(prometheus.seen.map((seen) => seen.path)).toEqual(['/prom/api/v1/targets']);
    expect(prometheus.seen[0]?.params.get('state')).toBe('active');
  });

  it('repeats array parameters and leaves out undefined ones', async () => {
    prometheus.answers.set('/api/v1/series', success([]));
    await new PrometheusClient({ url: prometheus.url }).get('api/v1/series', {
      'match[]': ['up', 'process_start_time_seconds'],
      start: undefined,
    });
    const params = prometheus.seen.find((seen) => seen.path === '/api/v1/series')?.params;
    expect(params?.getAll('match[]')).toEqual(['up', 'process_start_time_seconds']);
    expect(params?.has('start')).toBe(false);
  });

  it("names the path and Prometheus' errorType and error when it fails", async () => {
    prometheus.answers.set(
      '/api/v1/label/job/values',
      failure(400, 'bad_data', 'invalid parameter "match[]": 1:4: parse error'),
    );
    const error = await rejection(
      new PrometheusClient({ url: prometheus.url }).get('api/v1/label/job/values', {
        'match[]': ['up{'],
      }),
    );
    expect(error).toMatchObject({
      errorType: 'bad_data',
      query: '/api/v1/label/job/values',
      status: 400,
    });
  });

  it('reports a path Prometheus does not have as bad_response with its 404', async () => {
    const error = await rejection(new PrometheusClient({ url: prometheus.url }).get('api/v1/nope'));
    expect(error.message).toBe('bad_response: HTTP 404, not Prometheus JSON: 404 page not found');
  });

  it('gives up after timeoutMs, and stops at once when the caller aborts', async () => {
    prometheus.answers.set('/api/v1/alerts', silence);
    const client = new PrometheusClient({ url: prometheus.url, timeoutMs: 200 });
    const timedOut = await rejection(client.get('api/v1/alerts'));
    expect(timedOut.errorType).toBe('client_timeout');

    const caller = new AbortController();
    const pending = new PrometheusClient({ url: prometheus.url }).get(
      'api/v1/alerts',
      {},
      { signal: caller.signal },
    );
    caller.abort();
    await expect(pending).rejects.toThrow(/abort/i);
  });
});

describe('PrometheusClient.rangeQuery', () => {
  it('asks query_range with the range in seconds and parses every series', async () => {
    prometheus.answers.set(
      '/api/v1/query_range',
      success({
        resultType: 'matrix',
        result: [
          {
            metric: { instance: 'm1' },
            values: [
              [1700000000, '1'],
              [1700000015, 'NaN'],
            ],
          },
          { metric: { instance: 'm2' }, values: [[1700000000.5, '+Inf']] },
        ],
      }),
    );
    const series = await new PrometheusClient({ url: prometheus.url }).rangeQuery('up', {
      start: 1_700_000_000_000,
      end: 1_700_000_060_500,
      stepSeconds: 15,
    });
    const params = prometheus.seen.find((seen) => seen.path === '/api/v1/query_range')?.params;
    expect(Object.fromEntries(params ?? [])).toEqual({
      query: 'up',
      start: '1700000000',
      end: '1700000060.5',
      step: '15',
    });
    expect(series).toEqual([
      {
        metric: { instance: 'm1' },
        samples: [
          { timestamp: 1_700_000_000_000, value: 1 },
          { timestamp: 1_700_000_015_000, value: NaN },
        ],
      },
      { metric: { instance: 'm2' }, samples: [{ timestamp: 1_700_000_000_500, value: Infinity }] },
    ]);
  });

  it('names the query in an error, and refuses an answer that is not a matrix', async () => {
    prometheus.answers.set('/api/v1/query_range', failure(400, 'bad_data', 'parse error'));
    const client = new PrometheusClient({ url: prometheus.url });
    const range = { start: 0, end: 60_000, stepSeconds: 15 };
    expect(await rejection(client.rangeQuery('sum(', range))).toMatchObject({
      query: 'sum(',
      errorType: 'bad_data',
    });
    prometheus.answers.set('/api/v1/query_range', success({ resultType: 'vector', result: [] }));
    expect((await rejection(client.rangeQuery('up', range))).message).toBe(
      'unexpected_result: expected a range vector (matrix), got vector',
    );
  });
});
