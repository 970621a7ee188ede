import type { MiddlewareHandler } from 'hono';
import type { RouterRoute } from 'hono/types';
import type { ApiEnv } from './context';
import { errorBody } from './errors';

/** The order methods are listed in `Allow`. */
const methodOrder = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

interface PathMethods {
  pattern: RegExp;
  methods: Set<string>;
}

/** A Hono route path (`/api/v1/applications/:id`, `/console/*`) as a regular expression. */
function pathPattern(path: string): RegExp {
  const segments = path.split('/').map((segment) => {
    if (segment === '*') return '.*';
    if (segment.startsWith(':')) return '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}$`);
}

/** Each path the app routes, with the methods it has a handler for (middleware left out). */
function pathMethods(routes: readonly RouterRoute[]): PathMethods[] {
  const byPath = new Map<string, Set<string>>();
  for (const route of routes) {
    if (route.method === 'ALL') continue;
    const methods = byPath.get(route.path) ?? new Set<string>();
    methods.add(route.method.toUpperCase());
    byPath.set(route.path, methods);
  }
  return [...byPath].map(([path, methods]) => ({ pattern: pathPattern(path), methods }));
}

/** What `Allow` says for a path answered by `methods`: HEAD with GET, and OPTIONS always. */
export function allowedMethods(methods: ReadonlySet<string>): string[] {
  const allowed = new Set(methods);
  if (allowed.has('GET')) allowed.add('HEAD');
  allowed.add('OPTIONS');
  return [...allowed].sort((a, b) => methodOrder.indexOf(a) - methodOrder.indexOf(b));
}

/**
 * A method that a routed path has no handler for is answered 405 with `Allow` (RFC 9110,
 * 15.5.6), not 404, and before the token, the body or the rate limit is looked at: which
 * methods a path takes is public (/openapi.json says it). OPTIONS is answered 204 with `Allow`;
 * HEAD is answered where GET is (Hono runs GET for it). `routes` are read at the first request,
 * when every route is mounted; a path no route matches goes on, to its 401 or 404.
 */
export function methodNotAllowed(routes: () => readonly RouterRoute[]): MiddlewareHandler<ApiEnv> {
  let table: PathMethods[] | undefined;
  return async (c, next) => {
    table ??= pathMethods(routes());
    const path = c.req.path;
    const methods = new Set<string>();
    for (const entry of table) {
      if (entry.pattern.test(path)) for (const method of entry.methods) methods.add(method);
    }
    if (methods.size === 0) return next();
    const method = c.req.method.toUpperCase();
    if (methods.has(method) || (method === 'HEAD' && methods.has('GET'))) return next();
    const allow = allowedMethods(methods);
    c.header('Allow', allow.join(', '));
    if (method === 'OPTIONS') return c.body(null, 204);
    return c.json(
      errorBody(
        'method_not_allowed',
        `${method} is not a method of ${path}: it takes ${allow.join(', ')}`,
        { allow },
      ),
      405,
    );
  };
}
