import type { MetricSource } from './types';

export type PrometheusAuth =
  { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

export interface PrometheusOptions {
  /** Base URL, e.g. http://127.0.0.1:9090 or https://host/prometheus behind a path prefix. */
  url: string;
  /** Per query, including reading the answer. Default 10 s. */
  timeoutMs?: number;
  auth?: PrometheusAuth;
  /** For tests and proxies; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * Prometheus' own error types (bad_data, execution, timeout, canceled, internal, unavailable,
 * not_found) and the client's: the answer did not come in time, did not come at all, or was
 * not Prometheus' JSON, or the query's result did not have the shape asked for.
 */
export type PrometheusErrorType =
  | 'bad_data'
  | 'execution'
  | 'timeout'
  | 'canceled'
  | 'internal'
  | 'unavailable'
  | 'not_found'
  | 'client_timeout'
  | 'network'
  | 'bad_response'
  | 'unexpected_result'
  | (string & {});

/** A query that did not give a value; `message` is "<errorType>: <error>", fit for a person. */
export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';

  constructor(
    readonly errorType: PrometheusErrorType,
    readonly error: string,
    readonly query: string,
    /** The HTTP status, when an answer came. */
    readonly status?: number,
  ) {
    super(`${errorType}: ${error}`);
  }
}

export interface Sample {
  metric: Record<string, string>;
  /** Epoch ms of the sample. */
  timestamp: number;
  value: number;
}

export type InstantResult =
  | { resultType: 'vector'; samples: Sample[] }
  | { resultType: 'scalar'; timestamp: number; value: number };

type RawSample = [number, string];

interface ApiResponse {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}

/** Prometheus writes sample values as strings, with Go's spellings of the special values. */
export function parseSampleValue(text: string): number {
  switch (text) {
    case '+Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default:
      return Number(text);
  }
}

const toSample = ([seconds, text]: RawSample): { timestamp: number; value: number } => ({
  timestamp: Math.round(seconds * 1000),
  value: parseSampleValue(text),
});

function authorization(auth: PrometheusAuth | undefined): Record<string, string> {
  if (auth === undefined) return {};
  if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
  const credentials = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
  return { authorization: `Basic ${credentials}` };
}

function labelSet(metric: Record<string, string>): string {
  return `{${Object.entries(metric)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ')}}`;
}

/**
 * A client of the Prometheus HTTP API's instant queries (`GET /api/v1/query`). Credentials go
 * only into the request header, never into an error or a log line.
 */
export class PrometheusClient implements MetricSource {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly fetch: typeof fetch;

  constructor(options: PrometheusOptions) {
    // A trailing slash keeps a path prefix when the API path is resolved against the base.
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.headers = { accept: 'application/json', ...authorization(options.auth) };
    this.fetch = options.fetch ?? fetch;
  }

  /** The result of `promql` evaluated at `at` (epoch ms; default Prometheus' now). */
  async instantQuery(
    promql: string,
    at?: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<InstantResult> {
    const url = new URL('api/v1/query', this.base);
    url.searchParams.set('query', promql);
    if (at !== undefined) url.searchParams.set('time', String(at / 1000));
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;

    let status: number | undefined;
    let text: string;
    try {
      const response = await this.fetch(url, { headers: this.headers, signal });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (timeout.aborted) {
        throw new PrometheusError(
          'client_timeout',
          `no answer from ${this.base.origin} within ${this.timeoutMs} ms`,
          promql,
          status,
        );
      }
      if (options.signal?.aborted) throw error;
      const cause = error instanceof Error ? (error.cause ?? error) : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new PrometheusError(
        'network',
        `cannot reach ${this.base.origin}: ${reason}`,
        promql,
        status,
      );
    }

    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      // A proxy's error page, or a server that is not Prometheus.
      const excerpt = text.trim().slice(0, 200);
      throw new PrometheusError(
        'bad_response',
        `HTTP ${status}, not Prometheus JSON: ${excerpt || '(empty body)'}`,
        promql,
        status,
      );
    }
    if (body.status !== 'success') {
      throw new PrometheusError(
        body.errorType ?? 'bad_response',
        body.error ?? `HTTP ${status} without an error message`,
        promql,
        status,
      );
    }
    const data = body.data;
    if (data?.resultType === 'vector' && Array.isArray(data.result)) {
      const result = data.result as { metric: Record<string, string>; value: RawSample }[];
      return {
        resultType: 'vector',
        samples: result.map(({ metric, value }) => ({ metric, ...toSample(value) })),
      };
    }
    if (data?.resultType === 'scalar' && Array.isArray(data.result)) {
      return { resultType: 'scalar', ...toSample(data.result as RawSample) };
    }
    throw new PrometheusError(
      'unexpected_result',
      `expected an instant vector or a scalar, got ${data?.resultType ?? 'no data'}`,
      promql,
      status,
    );
  }

  async query(promql: string, at?: number): Promise<number | undefined> {
    const result = await this.instantQuery(promql, at);
    if (result.resultType === 'scalar') return result.value;
    const [first, second] = result.samples;
    if (second !== undefined) {
      const examples = result.samples.slice(0, 3).map((sample) => labelSet(sample.metric));
      throw new PrometheusError(
        'unexpected_result',
        `${promql} returned ${result.samples.length} series (${examples.join(', ')}), ` +
          'expected one: aggregate it (sum, avg, max)',
        promql,
      );
    }
    return first?.value;
  }
}
