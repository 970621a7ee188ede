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

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per api token name, in memory (one api process; a restart refills them all):
 * each holds `perMinute` writes and refills at `perMinute` a minute. A write with an empty
 * bucket is answered 429 with Retry-After (whole seconds until the next write is allowed),
 * before its handler runs. Reads, and requests without a token (the GitHub webhook, whose
 * signature is its authentication), are not counted. Mounted after the authentication, which
 * names the token.
 */
export function writeRateLimit(options: WriteRateLimitOptions): MiddlewareHandler<ApiEnv> {
  const { perMinute } = options;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  const perMs = perMinute / 60_000;
  return async (c, next) => {
    const principal = c.var.principal;
    if (perMinute <= 0 || principal === undefined || !writeMethods.has(c.req.method)) {
      return next();
    }
    const at = now();
    const bucket = buckets.get(principal.name) ?? { tokens: perMinute, at };
    bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, at - bucket.at) * perMs);
    bucket.at = at;
    buckets.set(principal.name, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      c.header('Retry-After', String(retryAfter));
      c.var.logger.warn(
        { token: principal.name, method: c.req.method, path: c.req.path, retryAfter },
        'write refused: the token is over its write rate',
      );
      return c.json(
        errorBody(
          'rate_limited',
          `token ${principal.name} made more than ${perMinute} writes in a minute (API_WRITE_RATE_PER_MINUTE); retry in ${retryAfter} s`,
          { token: principal.name, limit_per_minute: perMinute, retry_after_seconds: retryAfter },
        ),
        429,
      );
    }
    bucket.tokens -= 1;
    await next();
  };
}
