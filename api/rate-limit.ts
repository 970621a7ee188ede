import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './context';
import { errorBody } from './errors';

/** The methods a write rate limit counts. */
export const writeMethods: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface WriteRateLimitOptions {
  /** Writes a token may make per minute, in bursts of as many. 0 or less: no limit. */
  perMinute: number;
  /** The clock, in ms; Date.now by default. */
  now?: () => number;
}

/**
 * Whether the write rate limit counts a request. Webhooks are never counted: their sender
 * (Alertmanager, GitHub) retries only on a 5xx or not at all, so a 429 would silently drop a
 * firing alert or a release; each is still authenticated (its token, its signature). The
 * OpenAPI document (api/docs.ts) declares the 429 from this same function.
 */
export function rateLimited(method: string, path: string): boolean {
  return writeMethods.has(method) && !path.startsWith('/api/v1/webhooks/');
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per api token (by its id: names are not unique), in memory (one api process;
 * a restart refills them all): each holds `perMinute` writes and refills at `perMinute` a
 * minute. A write with an empty bucket is answered 429 with Retry-After (whole seconds until
 * the next write is allowed), before its handler runs. Reads, webhooks (see rateLimited) and
 * requests without a token are not counted. Mounted after the authentication, which names
 * the token.
 */
export function writeRateLimit(options: WriteRateLimitOptions): MiddlewareHandler<ApiEnv> {
  const { perMinute } = options;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  const perMs = perMinute / 60_000;
  return async (c, next) => {
    const principal = c.var.principal;
    if (perMinute <= 0 || principal === undefined || !rateLimited(c.req.method, c.req.path)) {
      return next();
    }
    const at = now();
    const bucket = buckets.get(principal.token_id) ?? { tokens: perMinute, at };
    bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, at - bucket.at) * perMs);
    bucket.at = at;
    buckets.set(principal.token_id, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      c.header('Retry-After', String(retryAfter));
      c.var.logger.warn(
        {
          token: principal.token_id,
          name: principal.name,
          method: c.req.method,
          path: c.req.path,
          retryAfter,
        },
        'write refused: the token is over its write rate',
      );
      return c.json(
        errorBody(
          'rate_limited',
          `token ${principal.name} made more than ${perMinute} writes in a minute (API_WRITE_RATE_PER_MINUTE); retry in ${retryAfter} s`,
          {
            token: principal.name,
            token_id: principal.token_id,
            limit_per_minute: perMinute,
            retry_after_seconds: retryAfter,
          },
        ),
        429,
      );
    }
    bucket.tokens -= 1;
    await next();
  };
}
