import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PrometheusClient } from '../../activities/metrics';
import { createPrometheusMcpServer } from '../../mcp/server';
import { failure, json, silence, startStandIn, success, type StandIn } from './stand-in-prometheus';

/**
 * The tools' shaping of Prometheus' answers, in process against a stand-in Prometheus that
 * answers what each test sets. transports.test.ts runs them against a real one.
 */
const NOW = Date.parse('2024-05-01T12:00:00Z');

let prometheus: StandIn;
let server: McpServer;
let client: Client;

beforeAll(async () => {
  prometheus = await startStandIn();
});
afterAll(async () => {
  await prometheus.stop();
});

async function connect(prometheusClient: PrometheusClient): Promise<void> {
  server = createPrometheusMcpServer(prometheusClient, { now: () => NOW });
  client = new Client({ name: 'test', version: '0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
}

beforeEach(async () => {
  prometheus.seen.length = 0;
  prometheus.answers.clear();
  await connect(new PrometheusClient({ url: prometheus.url, timeoutMs: 2_000 }));
});
afterEach(async () => {
  await client.close();
  await server.close();
});

interface ToolAnswer {
  isError: boolean;
  text: string;
}

async function call(name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text: string }[];
  expect(content).toHaveLength(1);
  expect(content[0]?.type).toBe('text');
  return { isError: result.isError === true, text: content[0]?.text ?? '' };
}

/** The JSON of a tool that succeeded. */
async function data(name: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const answer = await call(name, args);
  expect(answer.isError, answer.text).toBe(false);
  return JSON.parse(answer.text);
}

const params = (path: string) =>
  Object.fromEntries(prometheus.seen.find((seen) => seen.path === path)?.params ?? []);

const vector = (count: number) =>
  success({
    resultType: 'vector',
    result: Array.from({ length: count }, (_, index) => ({
      metric: { __name__: 'up', instance: `m${index}` },
      value: [NOW / 1000, index === 0 ? 'NaN' : '1'],
    })),
  });

describe('query', () => {
  it('gives labels and values, caps the series and says how many were left out', async () => {
    prometheus.answers.set('/api/v1/query', vector(60));
    const result = (await data('query', { query: 'up', time: 'now-1h' })) as Record<
      string,
      unknown
    >;
    expect(params('/api/v1/query')).toEqual({ query: 'up', time: String(NOW / 1000 - 3600) });
    expect(result).toMatchObject({
      query: 'up',
      time: '2024-05-01T11:00:00.000Z',
      resultType: 'vector',
      total: 60,
      omitted: 10,
    });
    expect(result.note).toMatch(/^showing 50 of 60; 10 left out: aggregate/);
    const series = result.series as { labels: Record<string, string>; value: unknown }[];
    expect(series).toHaveLength(50);
    expect(series[0]).toEqual({ labels: { __name__: 'up', instance: 'm0' }, value: 'NaN' });
    expect(series[1]).toEqual({ labels: { __name__: 'up', instance: 'm1' }, value: 1 });

    const fewer = (await data('query', { query: 'up', limit: 5 })) as { series: unknown[] };
    expect(fewer.series).toHaveLength(5);
  });

  it('gives a scalar, and says so when no series matched', async () => {
    prometheus.answers.set('/api/v1/query', success({ resultType: 'scalar', result: [1, '42'] }));
    expect(await data('query', { query: 'scalar(up)' })).toEqual({
      query: 'scalar(up)',
      time: '2024-05-01T12:00:00.000Z',
      resultType: 'scalar',
      value: 42,
    });
    prometheus.answers.set('/api/v1/query', vector(0));
    expect(await data('query', { query: 'nothing' })).toMatchObject({
      total: 0,
      series: [],
      note: expect.stringMatching(/no series matched/) as unknown,
    });
  });

  it("names the query and Prometheus' errorType and error for bad PromQL", async () => {
    prometheus.answers.set(
      '/api/v1/query',
      failure(400, 'bad_data', '1:5: parse error: unexpected end of input'),
    );
    const answer = await call('query', { query: 'sum(' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(
      /^query "sum\(" failed: bad_data: 1:5: parse error: unexpected end of input \(HTTP 400\) — the PromQL/,
    );
  });

  it('points a range selector to query_range', async () => {
    prometheus.answers.set('/api/v1/query', success({ resultType: 'matrix', result: [] }));
    const answer = await call('query', { query: 'up[5m]' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain('query "up[5m]" failed: unexpected_result');
    expect(answer.text).toContain('use query_range');
  });

  it('refuses a time it cannot read without asking Prometheus', async () => {
    const answer = await call('query', { query: 'up', time: 'yesterday' });
    expect(answer).toEqual({
      isError: true,
      text: expect.stringMatching(/^query "up": invalid time "yesterday": use now/) as unknown,
    });
    expect(prometheus.seen).toEqual([]);
  });

  it('reports a Prometheus that does not answer in time, naming the query', async () => {
    await client.close();
    await connect(new PrometheusClient({ url: prometheus.url, timeoutMs: 200 }));
    prometheus.answers.set('/api/v1/query', silence);
    const answer = await call('query', { query: 'up' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/^query "up" failed: client_timeout: no answer from .* 200 ms/);
  });

  it('never shows the credentials, not even in an error', async () => {
    await client.close();
    await connect(
      new PrometheusClient({ url: prometheus.url, auth: { type: 'bearer', token: 'tok3n' } }),
    );
    prometheus.answers.set('/api/v1/query', json(401, { status: 'error', error: 'unauthorized' }));
    const answer = await call('query', { query: 'up' });
    expect(prometheus.seen[0]?.authorization).toBe('Bearer tok3n');
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain('unauthorized');
    expect(answer.text).not.toContain('tok3n');
  });
});

describe('query_range', () => {
  const matrix = success({
    resultType: 'matrix',
    result: [
      {
        metric: { instance: 'm1' },
        values: [
          [NOW / 1000 - 60, '0.01'],
          [NOW / 1000 - 45, '0.02'],
          [NOW / 1000 - 30, '0.3'],
          [NOW / 1000 - 15, '0.28'],
          [NOW / 1000, 'NaN'],
        ],
      },
    ],
  });

  it('gives a summary per series instead of the points', async () => {
    prometheus.answers.set('/api/v1/query_range', matrix);
    const result = await data('query_range', {
      query: 'rate(errors[1m])',
      start: 'now-1m',
      step: '15s',
    });
    expect(params('/api/v1/query_range')).toEqual({
      query: 'rate(errors[1m])',
      start: String(NOW / 1000 - 60),
      end: String(NOW / 1000),
      step: '15',
    });
    expect(result).toEqual({
      query: 'rate(errors[1m])',
      start: '2024-05-01T11:59:00.000Z',
      end: '2024-05-01T12:00:00.000Z',
      step: 15,
      total: 1,
      series: [
        {
          labels: { instance: 'm1' },
          points: 5,
          non_finite: 1,
          min: 0.01,
          max: 0.3,
          avg: 0.1525,
          first: 0.01,
          last: 0.28,
          trend: 'rising',
          max_at: '2024-05-01T11:59:30.000Z',
        },
      ],
    });
  });

  it('picks a step of about 240 points when none is given', async () => {
    prometheus.answers.set('/api/v1/query_range', matrix);
    await data('query_range', { query: 'up', start: 'now-1h', end: 'now' });
    expect(params('/api/v1/query_range').step).toBe('15');
  });

  it('takes unix seconds and a step in seconds as numbers too', async () => {
    prometheus.answers.set('/api/v1/query_range', matrix);
    await data('query_range', { query: 'up', start: NOW / 1000 - 60, end: NOW / 1000, step: 30 });
    expect(params('/api/v1/query_range')).toMatchObject({
      start: String(NOW / 1000 - 60),
      end: String(NOW / 1000),
      step: '30',
    });
  });

  it('refuses a step it cannot read, naming it', async () => {
    const answer = await call('query_range', { query: 'up', start: 'now-1h', step: 'often' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toBe(
      'query_range "up": invalid duration "often": use a Prometheus duration like 30s, 5m or ' +
        '1h30m, or a number of seconds',
    );
  });
});

describe('list_metrics', () => {
  const names = ['up', 'http_requests_total', 'process_cpu_seconds_total', 'HTTP_legacy', 'go_gc'];

  it('filters by substring, case-insensitively, sorted and paginated', async () => {
    prometheus.answers.set('/api/v1/label/__name__/values', success(names));
    expect(await data('list_metrics', { match: 'http', limit: 1 })).toEqual({
      match: 'http',
      total: 2,
      offset: 0,
      metrics: ['HTTP_legacy'],
      next_offset: 1,
    });
    expect(await data('list_metrics', { match: 'http', limit: 1, offset: 1 })).toEqual({
      match: 'http',
      total: 2,
      offset: 1,
      metrics: ['http_requests_total'],
    });
  });

  it('takes a regular expression, and names one it cannot compile', async () => {
    prometheus.answers.set('/api/v1/label/__name__/values', success(names));
    expect(await data('list_metrics', { match: '_total$' })).toMatchObject({
      total: 2,
      metrics: ['http_requests_total', 'process_cpu_seconds_total'],
    });
    const answer = await call('list_metrics', { match: '(' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/^list_metrics matching "\(": invalid regular expression "\("/);
  });
});

describe('label_values', () => {
  it('asks for the values on the matching series and caps them', async () => {
    prometheus.answers.set('/api/v1/label/instance/values', success(['m1', 'm2', 'm3']));
    expect(
      await data('label_values', {
        label: 'instance',
        match: 'up{app="shop"}',
        start: 'now-1h',
        limit: 2,
      }),
    ).toMatchObject({
      label: 'instance',
      match: 'up{app="shop"}',
      total: 3,
      omitted: 1,
      values: ['m1', 'm2'],
    });
    expect(params('/api/v1/label/instance/values')).toEqual({
      'match[]': 'up{app="shop"}',
      start: String(NOW / 1000 - 3600),
    });
  });

  it('refuses a label name that is not one, before asking Prometheus', async () => {
    const answer = await call('label_values', { label: '../query' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain('a label name');
    expect(prometheus.seen).toEqual([]);
  });
});

describe('metric_metadata', () => {
  it('gives type, help and unit, one row per metric', async () => {
    prometheus.answers.set(
      '/api/v1/metadata',
      success({
        up: [{ type: 'gauge', help: 'Target up', unit: '' }],
        http_request_duration_seconds: [{ type: 'histogram', help: 'Latency', unit: 'seconds' }],
      }),
    );
    expect(await data('metric_metadata', {})).toEqual({
      total: 2,
      metrics: [
        {
          metric: 'http_request_duration_seconds',
          type: 'histogram',
          help: 'Latency',
          unit: 'seconds',
        },
        { metric: 'up', type: 'gauge', help: 'Target up' },
      ],
    });
    await data('metric_metadata', { metric: 'up' });
    expect(prometheus.seen.at(-1)?.params.get('metric')).toBe('up');
  });

  it('says why there may be none', async () => {
    prometheus.answers.set('/api/v1/metadata', success({}));
    expect(await data('metric_metadata', { metric: 'job:errors:rate5m' })).toMatchObject({
      total: 0,
      metrics: [],
      note: expect.stringMatching(/recording rule/) as unknown,
    });
  });
});

describe('targets', () => {
  const target = (instance: string, health: string, lastError = '') => ({
    labels: { job: instance === 'db:9104' ? 'db' : 'shop', instance, app: 'shop' },
    scrapePool: 'relguard-nodes',
    health,
    lastError,
    lastScrape: health === 'unknown' ? '0001-01-01T00:00:00Z' : '2024-05-01T11:59:58.123456789Z',
    lastScrapeDuration: 0.0012345,
  });

  it('gives each target compactly with the counts per health, filtered', async () => {
    prometheus.answers.set(
      '/api/v1/targets',
      success({
        activeTargets: [
          target('m1:4001', 'up'),
          target('m2:4002', 'down', 'connection refused'),
          target('m3:4003', 'unknown'),
          target('db:9104', 'up'),
        ],
        droppedTargets: [],
      }),
    );
    expect(await data('targets', { state: 'down' })).toEqual({
      health: { up: 2, down: 1, unknown: 1 },
      total: 1,
      targets: [
        {
          job: 'shop',
          instance: 'm2:4002',
          health: 'down',
          last_error: 'connection refused',
          last_scrape: '2024-05-01T11:59:58.123Z',
          scrape_seconds: 0.00123,
          labels: { app: 'shop' },
        },
      ],
    });
    expect(params('/api/v1/targets')).toEqual({ state: 'active' });
    const shop = (await data('targets', { job: 'shop' })) as { targets: { instance: string }[] };
    expect(shop.targets.map((t) => t.instance)).toEqual(['m1:4001', 'm2:4002', 'm3:4003']);
    // Never scraped yet: no last_scrape rather than year 1.
    expect(shop.targets[2]).not.toHaveProperty('last_scrape');
  });
});

describe('alerts', () => {
  it('gives name, state, labels, annotations, active_at and value, counted by state', async () => {
    prometheus.answers.set(
      '/api/v1/alerts',
      success({
        alerts: [
          {
            labels: { alertname: 'HighErrorRate', app: 'shop', severity: 'page' },
            annotations: { summary: 'shop errors above 10%' },
            state: 'firing',
            activeAt: '2024-05-01T11:58:00Z',
            value: '3.1e-01',
          },
          {
            labels: { alertname: 'SlowRequests', app: 'shop' },
            annotations: {},
            state: 'pending',
            activeAt: '2024-05-01T11:59:30Z',
            value: '+Inf',
          },
        ],
      }),
    );
    expect(await data('alerts', { state: 'firing' })).toEqual({
      firing: 1,
      pending: 1,
      total: 1,
      alerts: [
        {
          name: 'HighErrorRate',
          state: 'firing',
          labels: { app: 'shop', severity: 'page' },
          annotations: { summary: 'shop errors above 10%' },
          active_at: '2024-05-01T11:58:00Z',
          value: 0.31,
        },
      ],
    });
    const all = (await data('alerts')) as { alerts: { value: unknown }[] };
    expect(all.alerts.map((alert) => alert.value)).toEqual([0.31, '+Inf']);
  });
});
