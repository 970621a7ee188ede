import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Logger } from '../activities/logger';
import {
  defaultStepSeconds,
  parseSampleValue,
  PrometheusError,
  type PrometheusClient,
} from '../activities/metrics';
import { errorMessage } from '../domain/errors';
import packageJson from '../package.json' with { type: 'json' };
import { summarizeSeries } from './series-summary';
import { parseDuration, parseTime, TimeInputError } from './time';

export interface PrometheusMcpServerOptions {
  /** Tool failures are logged at warn, calls at debug. */
  logger?: Logger;
  /** Epoch ms; what `now` means in a tool's times. */
  now?: () => number;
}

/** Series a query tool returns at most unless asked for more: the rest is summed up in a note. */
export const DEFAULT_SERIES_LIMIT = 50;

const INSTRUCTIONS = `Read-only access to the Prometheus that watches relguard's releases.
To investigate an incident: alerts (what fires), targets (what is down), list_metrics and
metric_metadata (what exists and what it means), label_values (which jobs, instances, versions),
then query for a value now and query_range for how a series moved over the incident's window.
Times accept now, now-<duration> (now-1h), RFC 3339 or unix seconds. Results are compact JSON.`;

/** A time in the output: RFC 3339 in UTC, readable by a person and a model alike. */
const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** JSON has no NaN or infinities; Prometheus' own spellings keep them readable. */
function jsonValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return value;
}

/** The tool's arguments are wrong in a way the schema cannot say. */
class InputError extends Error {
  override readonly name = 'InputError';
}

/** A metric name filter: a substring, or a regular expression once it has other characters. */
function nameMatcher(match: string | undefined): (name: string) => boolean {
  if (match === undefined || match === '') return () => true;
  if (/^[A-Za-z0-9_:]+$/.test(match)) {
    const needle = match.toLowerCase();
    return (name) => name.toLowerCase().includes(needle);
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(match, 'i');
  } catch (error) {
    throw new InputError(`invalid regular expression "${match}": ${errorMessage(error)}`);
  }
  return (name) => pattern.test(name);
}

/** What the model can do about each kind of failure. */
const HINTS: Record<string, string> = {
  bad_data: 'the PromQL or a parameter is invalid; fix it and call again',
  execution: 'Prometheus could not evaluate it; simplify the query',
  timeout: 'Prometheus gave up; narrow the selector, shorten the range or raise the step',
  client_timeout: 'narrow the selector, shorten the range or raise the step',
  canceled: 'the query was cancelled; call again',
  unexpected_result:
    'an instant query of a range selector returns a matrix: use query_range, or wrap it in a ' +
    'function such as rate(...) or max_over_time(...)',
  network: 'Prometheus is unreachable; calling again will not help until it is back',
  unavailable: 'Prometheus is not ready yet; call again shortly',
};

/** The error text a tool returns: the tool, what it asked, Prometheus' errorType and error. */
function failureText(subject: string, error: unknown, signal: AbortSignal): string {
  if (error instanceof PrometheusError) {
    const hint = HINTS[error.errorType];
    const status = error.status === undefined ? '' : ` (HTTP ${error.status})`;
    return `${subject} failed: ${error.errorType}: ${error.error}${status}${hint ? ` — ${hint}` : ''}`;
  }
  if (error instanceof InputError || error instanceof TimeInputError) {
    return `${subject}: ${error.message}`;
  }
  if (signal.aborted) return `${subject} was cancelled by the client`;
  return `${subject} failed: ${errorMessage(error)}`;
}

/** Keeps the first `limit` items, and says how many were left out and how to see them. */
function capped<T>(items: readonly T[], limit: number, advice: string) {
  if (items.length <= limit) return { total: items.length, items: [...items] };
  const omitted = items.length - limit;
  return {
    total: items.length,
    items: items.slice(0, limit),
    omitted,
    note: `showing ${limit} of ${items.length}; ${omitted} left out: ${advice}`,
  };
}

const SERIES_ADVICE =
  'aggregate (sum by (job) (...), topk(10, ...)) or narrow the selector, or raise limit';

const promql = z
  .string()
  .min(1)
  .describe('PromQL expression, e.g. sum by (instance) (rate(http_requests_total[5m]))');
// Unix seconds come as a number as often as as a string; both are fine.
const time = (what: string) =>
  z
    .union([z.string().min(1), z.number().nonnegative()])
    .describe(`${what}: now, now-<duration> (now-30m), RFC 3339 or unix seconds`);
const limit = (fallback: number, max: number, what: string) =>
  z
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .describe(`at most this many ${what} (default ${fallback}, at most ${max})`);
const metricMatch = z
  .string()
  .optional()
  .describe(
    'filter on the metric name: a case-insensitive substring (http_requests), or a regular ' +
      'expression when it has any other character (^process_.*_bytes$)',
  );

interface ActiveTarget {
  labels?: Record<string, string>;
  scrapePool?: string;
  health?: string;
  lastError?: string;
  lastScrape?: string;
  lastScrapeDuration?: number;
}

interface RuleAlert {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  state?: string;
  activeAt?: string;
  value?: string;
}

interface MetadataEntry {
  type?: string;
  help?: string;
  unit?: string;
}

/**
 * An MCP server whose tools read Prometheus through `client`. Tools never throw: a failure is
 * a tool result with `isError` and a message naming the query and Prometheus' error. One
 * server serves one connection; make one per connection (the HTTP transport makes one per
 * request).
 */
export function createPrometheusMcpServer(
  client: PrometheusClient,
  options: PrometheusMcpServerOptions = {},
): McpServer {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const server = new McpServer(
    { name: 'relguard-prometheus', version: packageJson.version },
    { instructions: INSTRUCTIONS },
  );
  const readOnly = { readOnlyHint: true, idempotentHint: true, openWorldHint: false };

  async function answer(
    tool: string,
    subject: string,
    signal: AbortSignal,
    work: () => Promise<unknown>,
  ): Promise<CallToolResult> {
    const started = Date.now();
    try {
      const result = await work();
      logger?.debug({ tool, ms: Date.now() - started }, 'tool call');
      return { content: [{ type: 'text', text: JSON.stringify(result) }] };
    } catch (error) {
      const text = failureText(subject, error, signal);
      logger?.warn({ tool, ms: Date.now() - started, error: text }, 'tool call failed');
      return { isError: true, content: [{ type: 'text', text }] };
    }
  }

  server.registerTool(
    'query',
    {
      title: 'Instant PromQL query',
      description:
        'Evaluate a PromQL expression at one instant (default now) and get each series with its ' +
        'labels and value. Use it for the current state: error ratios, latency quantiles, ' +
        'which instances are up. For how a value moved over time use query_range. Series ' +
        `beyond limit (default ${DEFAULT_SERIES_LIMIT}) are left out with a note: aggregate ` +
        'with sum by (...) or topk(...) instead of raising the limit.',
      inputSchema: {
        query: promql,
        time: time('evaluation time (default now)').optional(),
        limit: limit(DEFAULT_SERIES_LIMIT, 500, 'series'),
      },
      annotations: { title: 'Instant PromQL query', ...readOnly },
    },
    (args, extra) =>
      answer('query', `query "${args.query}"`, extra.signal, async () => {
        const at = args.time === undefined ? now() : parseTime(String(args.time), now());
        const result = await client.instantQuery(args.query, at, { signal: extra.signal });
        if (result.resultType === 'scalar') {
          return {
            query: args.query,
            time: iso(at),
            resultType: 'scalar',
            value: jsonValue(result.value),
          };
        }
        const { items, ...rest } = capped(result.samples, args.limit, SERIES_ADVICE);
        return {
          query: args.query,
          time: iso(at),
          resultType: 'vector',
          ...rest,
          series: items.map((sample) => ({
            labels: sample.metric,
            value: jsonValue(sample.value),
          })),
          ...(result.samples.length === 0
            ? {
                note:
                  'no series matched: check the metric name with list_metrics and the label ' +
                  'values with label_values',
              }
            : {}),
        };
      }),
  );

  server.registerTool(
    'query_range',
    {
      title: 'PromQL range query, summarised',
      description:
        'Evaluate a PromQL expression over a time range and get, per series, a summary instead ' +
        'of raw points: labels, points, min, max, avg, first, last, max_at (when it peaked) ' +
        'and trend (rising, falling or flat, from a least-squares fit relative to the ' +
        "series' scale). Use it to see when an error rate or a latency went up during a " +
        'release, and on which instance. Compare windows by calling it twice (before and ' +
        'after). step defaults to about 240 points over the range. Series beyond limit ' +
        `(default ${DEFAULT_SERIES_LIMIT}) are left out with a note.`,
      inputSchema: {
        query: promql,
        start: time('range start, e.g. now-1h'),
        end: time('range end (default now)').optional(),
        step: z
          .union([z.string().min(1), z.number().positive()])
          .optional()
          .describe('resolution: a duration (15s, 1m) or seconds; default range / 240'),
        limit: limit(DEFAULT_SERIES_LIMIT, 500, 'series'),
      },
      annotations: { title: 'PromQL range query, summarised', ...readOnly },
    },
    (args, extra) =>
      answer('query_range', `query_range "${args.query}"`, extra.signal, async () => {
        const current = now();
        const start = parseTime(String(args.start), current);
        const end = args.end === undefined ? current : parseTime(String(args.end), current);
        const step =
          args.step === undefined
            ? defaultStepSeconds(start, end)
            : parseDuration(String(args.step));
        const series = await client.rangeQuery(args.query, {
          start,
          end,
          stepSeconds: step,
          signal: extra.signal,
        });
        const { items, ...rest } = capped(series, args.limit, SERIES_ADVICE);
        return {
          query: args.query,
          start: iso(start),
          end: iso(end),
          step,
          ...rest,
          series: items.map(({ metric, samples }) => {
            const { points, nonFinite, maxAt, ...stats } = summarizeSeries(samples);
            return {
              labels: metric,
              points,
              ...(nonFinite > 0 ? { non_finite: nonFinite } : {}),
              ...stats,
              ...(maxAt === undefined ? {} : { max_at: iso(maxAt) }),
            };
          }),
          ...(series.length === 0
            ? { note: 'no series matched in this range: check the names and the window' }
            : {}),
        };
      }),
  );

  server.registerTool(
    'list_metrics',
    {
      title: 'List metric names',
      description:
        'List the metric names Prometheus knows, sorted, filtered by match and paginated ' +
        '(limit, offset; total is the number that matched). Use it to find what to query, ' +
        'e.g. match "http" or "^process_". Then metric_metadata says what a metric means.',
      inputSchema: {
        match: metricMatch,
        limit: limit(100, 1000, 'names'),
        offset: z.number().int().min(0).default(0).describe('names to skip, for the next page'),
      },
      annotations: { title: 'List metric names', ...readOnly },
    },
    (args, extra) =>
      answer(
        'list_metrics',
        `list_metrics${args.match ? ` matching "${args.match}"` : ''}`,
        extra.signal,
        async () => {
          const matches = nameMatcher(args.match);
          const names = (await client.get(
            'api/v1/label/__name__/values',
            {},
            { signal: extra.signal },
          )) as string[];
          const matching = names.filter(matches).sort();
          const page = matching.slice(args.offset, args.offset + args.limit);
          const nextOffset = args.offset + page.length;
          return {
            ...(args.match ? { match: args.match } : {}),
            total: matching.length,
            offset: args.offset,
            metrics: page,
            ...(nextOffset < matching.length ? { next_offset: nextOffset } : {}),
          };
        },
      ),
  );

  server.registerTool(
    'label_values',
    {
      title: 'Values of a label',
      description:
        'List the values of one label (job, instance, app, version, status_code, ...), ' +
        'optionally only on the series a selector matches (match: up{job="api"}) and within ' +
        'a time range. Use it to learn which instances, versions or routes exist before ' +
        'writing a query.',
      inputSchema: {
        label: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a label name: letters, digits and _')
          .describe('label name, e.g. instance; __name__ lists metric names'),
        match: z
          .string()
          .min(1)
          .optional()
          .describe('series selector that limits the series, e.g. http_requests_total{app="shop"}'),
        start: time('only series present after this time').optional(),
        end: time('only series present before this time').optional(),
        limit: limit(100, 1000, 'values'),
      },
      annotations: { title: 'Values of a label', ...readOnly },
    },
    (args, extra) =>
      answer(
        'label_values',
        `label_values of "${args.label}"${args.match ? ` on "${args.match}"` : ''}`,
        extra.signal,
        async () => {
          const current = now();
          const seconds = (value: string | number | undefined) =>
            value === undefined ? undefined : String(parseTime(String(value), current) / 1000);
          const values = (await client.get(
            `api/v1/label/${encodeURIComponent(args.label)}/values`,
            {
              'match[]': args.match === undefined ? undefined : [args.match],
              start: seconds(args.start),
              end: seconds(args.end),
            },
            { signal: extra.signal },
          )) as string[];
          const { items, ...rest } = capped(values, args.limit, 'add a match selector');
          return {
            label: args.label,
            ...(args.match ? { match: args.match } : {}),
            ...rest,
            values: items,
          };
        },
      ),
  );

  server.registerTool(
    'metric_metadata',
    {
      title: 'Metric metadata',
      description:
        'Type (counter, gauge, histogram, summary), help text and unit of a metric, or of the ' +
        'metrics a match filter selects. Use it to know how to query a metric: rate() a ' +
        "counter, histogram_quantile() over a histogram's _bucket series, a gauge as is.",
      inputSchema: {
        metric: z.string().min(1).optional().describe('exact metric name'),
        match: metricMatch,
        limit: limit(50, 500, 'metrics'),
      },
      annotations: { title: 'Metric metadata', ...readOnly },
    },
    (args, extra) =>
      answer(
        'metric_metadata',
        `metric_metadata${args.metric ? ` of "${args.metric}"` : ''}` +
          `${args.match ? ` matching "${args.match}"` : ''}`,
        extra.signal,
        async () => {
          const matches = nameMatcher(args.match);
          const data = (await client.get(
            'api/v1/metadata',
            { metric: args.metric },
            { signal: extra.signal },
          )) as Record<string, MetadataEntry[]>;
          const rows = Object.keys(data)
            .filter(matches)
            .sort()
            .flatMap((name) =>
              (data[name] ?? []).map((entry) => ({
                metric: name,
                type: entry.type ?? 'unknown',
                help: entry.help ?? '',
                ...(entry.unit ? { unit: entry.unit } : {}),
              })),
            );
          const { items, ...rest } = capped(rows, args.limit, 'narrow match');
          return {
            ...rest,
            metrics: items,
            ...(rows.length === 0
              ? {
                  note:
                    'no metadata found: the metric may not exist (see list_metrics), or be a ' +
                    'recording rule, which has none',
                }
              : {}),
          };
        },
      ),
  );

  server.registerTool(
    'targets',
    {
      title: 'Scrape targets',
      description:
        'The targets Prometheus scrapes: job, instance, health (up, down, unknown), the last ' +
        'scrape error, when it was last scraped and the target labels (app, version, ...). ' +
        'Counts per health come first. Use it to find machines that are down or cannot be ' +
        'scraped, which makes their metrics vanish rather than go bad.',
      inputSchema: {
        state: z
          .enum(['up', 'down', 'unknown'])
          .optional()
          .describe('only targets in this health state'),
        job: z.string().min(1).optional().describe('only targets of this job'),
        limit: limit(100, 1000, 'targets'),
      },
      annotations: { title: 'Scrape targets', ...readOnly },
    },
    (args, extra) =>
      answer('targets', 'targets', extra.signal, async () => {
        const data = (await client.get(
          'api/v1/targets',
          { state: 'active' },
          { signal: extra.signal },
        )) as {
          activeTargets?: ActiveTarget[];
        };
        const all = (data.activeTargets ?? []).map((target) => {
          const { job, instance, ...labels } = target.labels ?? {};
          const lastScrape = target.lastScrape ? Date.parse(target.lastScrape) : Number.NaN;
          return {
            job: job ?? target.scrapePool ?? '',
            instance: instance ?? '',
            health: target.health ?? 'unknown',
            ...(target.lastError ? { last_error: target.lastError } : {}),
            // Prometheus gives year 1 for a target it has not scraped yet.
            ...(lastScrape > 0 ? { last_scrape: iso(lastScrape) } : {}),
            ...(target.lastScrapeDuration === undefined
              ? {}
              : { scrape_seconds: Number(target.lastScrapeDuration.toPrecision(3)) }),
            labels,
          };
        });
        const counts = { up: 0, down: 0, unknown: 0 };
        for (const target of all) {
          if (target.health === 'up' || target.health === 'down') counts[target.health] += 1;
          else counts.unknown += 1;
        }
        const selected = all.filter(
          (target) =>
            (args.state === undefined || target.health === args.state) &&
            (args.job === undefined || target.job === args.job),
        );
        const { items, ...rest } = capped(selected, args.limit, 'filter by state or job');
        return { health: counts, ...rest, targets: items };
      }),
  );

  server.registerTool(
    'alerts',
    {
      title: 'Active alerts',
      description:
        "The alerts Prometheus' alerting rules have active now: name, state (firing, or " +
        'pending while its for: duration runs), labels, annotations (summary, description), ' +
        'since when (active_at) and the value that triggered it. Start an investigation here.',
      inputSchema: {
        state: z.enum(['firing', 'pending']).optional().describe('only alerts in this state'),
        limit: limit(100, 1000, 'alerts'),
      },
      annotations: { title: 'Active alerts', ...readOnly },
    },
    (args, extra) =>
      answer('alerts', 'alerts', extra.signal, async () => {
        const data = (await client.get('api/v1/alerts', {}, { signal: extra.signal })) as {
          alerts?: RuleAlert[];
        };
        const all = (data.alerts ?? []).map((alert) => {
          const { alertname, ...labels } = alert.labels ?? {};
          return {
            name: alertname ?? '',
            state: alert.state ?? 'unknown',
            labels,
            annotations: alert.annotations ?? {},
            ...(alert.activeAt ? { active_at: alert.activeAt } : {}),
            ...(alert.value === undefined
              ? {}
              : { value: jsonValue(parseSampleValue(alert.value)) }),
          };
        });
        const firing = all.filter((alert) => alert.state === 'firing').length;
        const pending = all.filter((alert) => alert.state === 'pending').length;
        const selected = all.filter(
          (alert) => args.state === undefined || alert.state === args.state,
        );
        const { items, ...rest } = capped(selected, args.limit, 'filter by state');
        return { firing, pending, ...rest, alerts: items };
      }),
  );

  return server;
}
