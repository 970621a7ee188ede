import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './context';
import { errorBody } from './errors';

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * 400 for a request whose path or query is not valid percent-encoding (`%ZZ`, a cut or invalid
 * UTF-8 sequence such as `%E0%A4%A`), before any route sees it. Hono itself leaves such
 * sequences undecoded, so a handler would otherwise see a key or an id that is neither the raw
 * nor the decoded text, and one that decodes it itself would throw (a 500).
 */
export function wellFormedUrl(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (!decodes(url.pathname)) {
      return c.json(
        errorBody('bad_request', 'the request path is not valid percent-encoding (RFC 3986)'),
        400,
      );
    }
    if (!decodes(url.search)) {
      return c.json(
        errorBody('bad_request', 'the query string is not valid percent-encoding (RFC 3986)'),
        400,
      );
    }
    await next();
  };
}
