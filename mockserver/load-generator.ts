import { Agent, request as httpRequest } from 'node:http';
import { z } from 'zod';
import { parseDuration } from './duration';

export interface LoadOptions {
  /** Base URLs, e.g. http://127.0.0.1:4001; traffic is spread over them round-robin. */
  targets: readonly string[];
  /** Requests started per second across all targets (open loop: slow answers do not slow it). */
  rps: number;
  /** Stops by itself after this long; without it, only `signal` stops it. */
  durationMs?: number;
  signal?: AbortSignal;
  /** Requests allowed in flight at once; a request due beyond it is skipped and counted. */
  maxInFlight?: number;
  /** Per-request deadline; a request past it counts as error "timeout". */
  timeoutMs?: number;
}

export interface LatencySummary {
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface LoadSummary {
  targets: string[];
  rps: number;
  duration_s: number;
  requests: number;
  ok: number;
  /** By HTTP status (>= 400) or by network error ("ECONNRESET", "timeout", ...). */
  errors: Record<string, number>;
  error_rate: number;
  /** Due while `maxInFlight` requests were still open, so never sent. */
  skipped: number;
  latency: LatencySummary;
  by_target: Record<string, { requests: number; errors: number }>;
  by_route: Record<string, { requests: number; errors: number }>;
}

interface Endpoint {
  route: string;
  method: 'GET' | 'POST';
  weight: number;
  path(): string;
  body?(): string;
}

// Roughly a shop's read-heavy mix: listings and profiles dominate, payments are rarer.
const endpoints: readonly Endpoint[] = [
  { route: '/api/orders', method: 'GET', weight: 45, path: () => '/api/orders' },
  {
    route: '/api/users/:id',
    method: 'GET',
    weight: 40,
    path: () => `/api/users/${1 + Math.floor(Math.random() * 1000)}`,
  },
  {
    route: '/api/pay',
    method: 'POST',
    weight: 15,
    path: () => '/api/pay',
    body: () =>
      JSON.stringify({
        order_id: `ord-${1000 + Math.floor(Math.random() * 12)}`,
        amount_cents: 500 + Math.floor(Math.random() * 20_000),
        currency: 'EUR',
      }),
  },
];
const totalWeight = endpoints.reduce((sum, endpoint) => sum + endpoint.weight, 0);

function pickEndpoint(): Endpoint {
  let roll = Math.random() * totalWeight;
  for (const endpoint of endpoints) {
    roll -= endpoint.weight;
    if (roll < 0) return endpoint;
  }
  return endpoints[0]!;
}

const maxSamples = 200_000;
const tickMs = 10;

/** Keeps the latency percentiles exact up to 200k requests and sampled uniformly beyond. */
class LatencyReservoir {
  private readonly samples: number[] = [];
  private seen = 0;

  add(ms: number): void {
    this.seen += 1;
    if (this.samples.length < maxSamples) {
      this.samples.push(ms);
      return;
    }
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < maxSamples) this.samples[slot] = ms;
  }

  summary(): LatencySummary {
    const sorted = [...this.samples].sort((left, right) => left - right);
    const at = (quantile: number): number => {
      if (sorted.length === 0) return 0;
      const index = Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1);
      return round(sorted[Math.max(0, index)] ?? 0);
    };
    return { p50_ms: at(0.5), p90_ms: at(0.9), p99_ms: at(0.99), max_ms: at(1) };
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Drives realistic traffic at the targets until `durationMs` passes or `signal` aborts. */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const targets = options.targets.map((target) => target.replace(/\/+$/, ''));
  if (targets.length === 0) throw new Error('runLoad: no targets');
  if (!(options.rps > 0)) throw new Error('runLoad: rps must be > 0');
  const maxInFlight = options.maxInFlight ?? 256;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const latencies = new LatencyReservoir();
  const errors: Record<string, number> = {};
  const byTarget: LoadSummary['by_target'] = Object.fromEntries(
    targets.map((target) => [target, { requests: 0, errors: 0 }]),
  );
  const byRoute: LoadSummary['by_route'] = Object.fromEntries(
    endpoints.map((endpoint) => [endpoint.route, { requests: 0, errors: 0 }]),
  );
  let requests = 0;
  let ok = 0;
  let skipped = 0;
  let scheduled = 0;
  let inFlight = 0;
  let nextTarget = 0;
  let settleIdle: (() => void) | undefined;

  const record = (target: string, route: string, started: number, failure?: string): void => {
    requests += 1;
    latencies.add(performance.now() - started);
    const targetStats = byTarget[target];
    const routeStats = byRoute[route];
    if (targetStats !== undefined) targetStats.requests += 1;
    if (routeStats !== undefined) routeStats.requests += 1;
    if (failure === undefined) {
      ok += 1;
    } else {
      errors[failure] = (errors[failure] ?? 0) + 1;
      if (targetStats !== undefined) targetStats.errors += 1;
      if (routeStats !== undefined) routeStats.errors += 1;
    }
  };

  const fire = (): void => {
    const target = targets[nextTarget % targets.length]!;
    nextTarget += 1;
    const endpoint = pickEndpoint();
    const body = endpoint.body?.();
    const started = performance.now();
    inFlight += 1;
    let settled = false;
    const settle = (failure?: string): void => {
      if (settled) return;
      settled = true;
      inFlight -= 1;
      record(target, endpoint.route, started, failure);
      if (inFlight === 0) settleIdle?.();
    };
    const outgoing = httpRequest(
      `${target}${endpoint.path()}`,
      {
        method: endpoint.method,
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          settle(status >= 400 ? String(status) : undefined);
        });
        response.on('error', () => settle('ECONNRESET'));
      },
    );
    outgoing.setTimeout(timeoutMs, () => {
      settle('timeout');
      outgoing.destroy();
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => settle(error.code ?? 'network'));
    outgoing.end(body);
  };

  const startedAt = performance.now();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      clearInterval(interval);
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    const interval = setInterval(() => {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * options.rps) - scheduled;
      for (let index = 0; index < due; index += 1) {
        scheduled += 1;
        if (inFlight >= maxInFlight) skipped += 1;
        else fire();
      }
    }, tickMs);
    const deadline =
      options.durationMs === undefined ? undefined : setTimeout(stop, options.durationMs);
    if (options.signal?.aborted === true) stop();
    options.signal?.addEventListener('abort', stop);
  });
  const elapsedMs = performance.now() - startedAt;

  // Answers to requests already sent still count; the per-request timeout bounds the wait.
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      settleIdle = resolve;
    });
  }
  agent.destroy();

  return {
    targets,
    rps: options.rps,
    duration_s: round(elapsedMs / 1000),
    requests,
    ok,
    errors,
    error_rate: requests === 0 ? 0 : round((requests - ok) / requests),
    skipped,
    latency: latencies.summary(),
    by_target: byTarget,
    by_route: byRoute,
  };
}

const loadArgsSchema = z.object({
  targets: z
    .string({ error: 'required, e.g. --targets http://127.0.0.1:4001,http://127.0.0.1:4002' })
    .transform((value) =>
      value
        .split(',')
        .map((target) => target.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ })).min(1)),
  rps: z.coerce.number().positive().max(10_000).default(20),
  duration: z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const ms = parseDuration(value);
      if (ms === undefined || ms < 1) {
        context.addIssue({ code: 'custom', message: 'expected a duration like 60s, 2m or 500ms' });
        return z.NEVER;
      }
      return ms;
    }),
  concurrency: z.coerce.number().int().positive().max(10_000).default(256),
  timeout: z
    .string()
    .default('5s')
    .transform((value, context) => {
      const ms = parseDuration(value);
      if (ms === undefined || ms < 1) {
        context.addIssue({ code: 'custom', message: 'expected a duration like 5s' });
        return z.NEVER;
      }
      return ms;
    }),
});

/** Options for runLoad from `--targets a,b --rps 50 [--duration 60s] [--concurrency N] [--timeout 5s]`. */
export function loadOptionsFromArgs(values: Record<string, string | undefined>): LoadOptions {
  const parsed = loadArgsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = String(issue?.path[0] ?? 'targets');
    throw new Error(`invalid --${flag}: ${issue?.message ?? 'invalid'}`);
  }
  return {
    targets: parsed.data.targets,
    rps: parsed.data.rps,
    durationMs: parsed.data.duration,
    maxInFlight: parsed.data.concurrency,
    timeoutMs: parsed.data.timeout,
  };
}
