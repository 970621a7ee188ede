import type { MetricSource } from './types';

export type PrometheusAuth =
  { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

export interface PrometheusOptions {
  /** Base URL, e.g. http://127.0.0.1:9090 or https://host/prometheus behind a path prefix. */
  url: string;
  /** Per query, including reading the answer. Default 10 s. */
  timeoutMs?: number;
  /** The setting `timeoutMs` comes from, named in a timeout's message (what to raise). */
  timeoutSetting?: string;
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

/** One series of a range query, its samples oldest first. */
export interface RangeSeries {
  metric: Record<string, string>;
  samples: { timestamp: number; value: number }[];
}

/**
 * A step that gives about 240 points over `startMs`..`endMs`: enough to place a peak, few
 * enough to stay far below Prometheus' limit of 11,000 points per series. Whole seconds, at
 * least 1.
 */
export function defaultStepSeconds(startMs: number, endMs: number): number {
  return Math.max(1, Math.ceil((endMs - startMs) / 1000 / 240));
}

export interface RangeQueryOptions {
  /** Epoch ms. */
  start: number;
  /** Epoch ms. */
  end: number;
  /** Resolution in seconds. */
  stepSeconds: number;
  signal?: AbortSignal;
}

/** Query parameters of an API call; an array repeats the parameter (`match[]`). */
export type ApiParams = Record<string, string | readonly string[] | undefined>;

type RawSample = [number, string];

interface ApiResponse {
  status: 'success' | 'error';
  data?: unknown;
  errorType?: string;
  error?: string;
}

interface QueryData {
  resultType?: string;
  result?: unknown;
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

/**
 * The client's credentials from the settings of domain/config.ts (or mcp/config.ts), which
 * refuse a half-set or doubly-set pair before this is called.
 */
export function prometheusAuth(settings: {
  PROMETHEUS_BEARER_TOKEN?: string | undefined;
  PROMETHEUS_USERNAME?: string | undefined;
  PROMETHEUS_PASSWORD?: string | undefined;
}): PrometheusAuth | undefined {
  if (settings.PROMETHEUS_BEARER_TOKEN !== undefined) {
    return { type: 'bearer', token: settings.PROMETHEUS_BEARER_TOKEN };
  }
  if (settings.PROMETHEUS_USERNAME !== undefined && settings.PROMETHEUS_PASSWORD !== undefined) {
    return {
      type: 'basic',
      username: settings.PROMETHEUS_USERNAME,
      password: settings.PROMETHEUS_PASSWORD,
    };
  }
  return undefined;
}

/**
 * A PrometheusClient's options from a process's configuration: its URL, credentials and
 * timeout (`timeoutMs`, else PROMETHEUS_TIMEOUT_SECONDS when the settings have it).
 */
export function prometheusOptions(
  settings: Parameters<typeof prometheusAuth>[0] & {
    PROMETHEUS_URL: string;
    PROMETHEUS_TIMEOUT_SECONDS?: number;
  },
  timeoutMs?: number,
): PrometheusOptions {
  const auth = prometheusAuth(settings);
  const timeout =
    timeoutMs !== undefined
      ? { timeoutMs }
      : settings.PROMETHEUS_TIMEOUT_SECONDS !== undefined
        ? {
            timeoutMs: settings.PROMETHEUS_TIMEOUT_SECONDS * 1000,
            timeoutSetting: 'PROMETHEUS_TIMEOUT_SECONDS',
          }
        : {};
  return {
    url: settings.PROMETHEUS_URL,
    ...timeout,
    ...(auth === undefined ? {} : { auth }),
  };
}

/** A query or path as an error names it: whole when short, its start when long. */
function shortened(subject: string): string {
  const flat = subject.replace(/\s+/g, ' ').trim();
  return flat.length <= 300 ? flat : `${flat.slice(0, 297)}...`;
}

function labelSet(metric: Record<string, string>): string {
  return `{${Object.entries(metric)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ')}}`;
}

/**
 * A client of the Prometheus HTTP API: instant and range queries, and a plain GET of any other
 * read-only API path. Credentials go only into the request header, never into an error or a
 * log line.
 */
export class PrometheusClient implements MetricSource {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly timeoutSetting: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly fetch: typeof fetch;

  constructor(options: PrometheusOptions) {
    // A trailing slash keeps a path prefix when the API path is resolved against the base.
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.timeoutSetting = options.timeoutSetting;
    this.headers = { accept: 'application/json', ...authorization(options.auth) };
    this.fetch = options.fetch ?? fetch;
  }

  /** Where the client sends its queries (the origin only: no credentials, no path). */
  get origin(): string {
    return this.base.origin;
  }

  /**
   * GET of an API path relative to the base URL (e.g. `api/v1/targets`); resolves to the
   * answer's `data`. Errors name `params.query` when there is one, else the path.
   */
  async get(
    path: string,
    params: ApiParams = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<unknown> {
    // A leading slash would resolve from the origin and drop a path prefix of the base.
    const url = new URL(path.replace(/^\/+/, ''), this.base);
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined) continue;
      for (const item of typeof value === 'string' ? [value] : value) {
        url.searchParams.append(name, item);
      }
    }
    const subject = typeof params.query === 'string' ? params.query : url.pathname;
    const { data } = await this.request(url, subject, options.signal);
    return data;
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
    const { data, status } = await this.request(url, promql, options.signal);
    const { resultType, result } = (data ?? {}) as QueryData;
    if (resultType === 'vector' && Array.isArray(result)) {
      const series = result as { metric: Record<string, string>; value: RawSample }[];
      return {
        resultType: 'vector',
        samples: series.map(({ metric, value }) => ({ metric, ...toSample(value) })),
      };
    }
    if (resultType === 'scalar' && Array.isArray(result)) {
      return { resultType: 'scalar', ...toSample(result as RawSample) };
    }
    throw new PrometheusError(
      'unexpected_result',
      `expected an instant vector or a scalar, got ${resultType ?? 'no data'}`,
      promql,
      status,
    );
  }

  /** The series of `promql` from `start` to `end` every `stepSeconds` (`GET /api/v1/query_range`). */
  async rangeQuery(promql: string, options: RangeQueryOptions): Promise<RangeSeries[]> {
    const url = new URL('api/v1/query_range', this.base);
    url.searchParams.set('query', promql);
    url.searchParams.set('start', String(options.start / 1000));
    url.searchParams.set('end', String(options.end / 1000));
    url.searchParams.set('step', String(options.stepSeconds));
    const { data, status } = await this.request(url, promql, options.signal);
    const { resultType, result } = (data ?? {}) as QueryData;
    if (resultType === 'matrix' && Array.isArray(result)) {
      const series = result as { metric: Record<string, string>; values: RawSample[] }[];
      return series.map(({ metric, values }) => ({ metric, samples: values.map(toSample) }));
    }
    throw new PrometheusError(
      'unexpected_result',
      `expected a range vector (matrix), got ${resultType ?? 'no data'}`,
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

  /** One GET with the timeout; `subject` (the PromQL or the path) goes into every error. */
  private async request(
    url: URL,
    subject: string,
    callerSignal: AbortSignal | undefined,
  ): Promise<{ data: unknown; status: number }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;

    let status: number | undefined;
    let text: string;
    try {
      const response = await this.fetch(url, { headers: this.headers, signal });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (timeout.aborted) {
        // Which remote, after how long, to what, and what to raise: a hung Prometheus (or a
        // proxy in front of it) must be told from a slow query.
        const setting = this.timeoutSetting === undefined ? '' : ` (${this.timeoutSetting})`;
        throw new PrometheusError(
          'client_timeout',
          `no answer from ${this.base.origin} within ${this.timeoutMs} ms${setting} ` +
            `to ${shortened(subject)}`,
          subject,
          status,
        );
      }
      if (callerSignal?.aborted) throw error;
      const cause = error instanceof Error ? (error.cause ?? error) : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new PrometheusError(
        'network',
        `cannot reach ${this.base.origin}: ${reason}`,
        subject,
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
        subject,
        status,
      );
    }
    if (body.status !== 'success') {
      throw new PrometheusError(
        body.errorType ?? 'bad_response',
        body.error ?? `HTTP ${status} without an error message`,
        subject,
        status,
      );
    }
    return { data: body.data, status };
  }
}
