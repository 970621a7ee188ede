import type { MiddlewareHandler } from 'hono';
import { roleAllows, tokenExpired, type Role } from '../domain';
import type { ApiEnv } from './context';
import { errorBody } from './errors';
import { isPackageUpload } from './route-parts';

/** Who made a request: the token it carried. */
export interface Principal {
  token_id: string;
  name: string;
  role: Role;
}

const writes = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The role a request needs, or undefined for what is open: health, docs, metrics, the package
 * files machines download, and the GitHub webhook (its signature is its authentication).
 * Viewers read; deployers release (deployments, package builds and uploads, Alertmanager's
 * webhook); admins
 * manage applications, notification channels, tokens and the audit log.
 */
export function requiredRole(method: string, path: string): Role | undefined {
  if (!path.startsWith('/api/')) return undefined;
  if (path === '/api/v1/webhooks/github') return undefined;
  if (path.startsWith('/api/v1/tokens') || path.startsWith('/api/v1/audit')) return 'admin';
  if (!writes.has(method)) return 'viewer';
  if (isPackageUpload(method, path)) return 'deployer';
  if (path.startsWith('/api/v1/applications') || path.startsWith('/api/v1/channels')) {
    return 'admin';
  }
  return 'deployer';
}

const bearer = /^Bearer\s+(\S+)$/i;

/**
 * Bearer tokens with roles: 401 without a known token, 403 when its role is below what the
 * route needs. Every write that passes is recorded in the audit log with its outcome; a token's
 * last use is recorded to the minute (TokenRepository.recordUse), off the request's path.
 */
export function authentication(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const needed = requiredRole(c.req.method, c.req.path);
    if (needed === undefined) return next();
    const token = bearer.exec(c.req.header('authorization') ?? '')?.[1];
    const found = token === undefined ? undefined : await c.var.store.tokens.authenticate(token);
    if (found === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="relguard"');
      return c.json(
        errorBody(
          'unauthorized',
          token === undefined
            ? 'this route needs a bearer token (Authorization: Bearer <token>)'
            : 'the bearer token is not valid',
        ),
        401,
      );
    }
    if (found.expires_at !== undefined && tokenExpired(found, Date.now())) {
      c.header('WWW-Authenticate', 'Bearer realm="relguard", error="invalid_token"');
      c.var.logger.warn({ token: found.id, name: found.name }, 'expired token refused');
      return c.json(
        errorBody(
          'unauthorized',
          `the bearer token ${found.name} expired at ${new Date(found.expires_at).toISOString()}: ask an admin for a new one`,
          { token: found.name, expired_at: found.expires_at },
        ),
        401,
      );
    }
    if (!roleAllows(found.role, needed)) {
      return c.json(
        errorBody(
          'forbidden',
          `${c.req.method} ${c.req.path} needs the ${needed} role; token ${found.name} is ${found.role}`,
        ),
        403,
      );
    }
    // Fire and forget: the request neither waits for this write nor fails with it.
    void c.var.store.tokens.recordUse(found).catch((error: unknown) => {
      c.var.logger.error({ err: error, token: found.id }, 'token last use not recorded');
    });
    const principal: Principal = { token_id: found.id, name: found.name, role: found.role };
    c.set('principal', principal);
    await next();
    if (writes.has(c.req.method)) {
      await c.var.store.audit
        .record({
          at: Date.now(),
          actor: principal.name,
          token_id: principal.token_id,
          role: principal.role,
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
        })
        .catch((error: unknown) => {
          c.var.logger.error({ err: error, path: c.req.path }, 'audit entry not written');
        });
    }
  };
}
