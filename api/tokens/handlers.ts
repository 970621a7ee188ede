import type { RouteHandler } from '@hono/zod-openapi';
import { FailureType, notFound, RelguardError } from '../../domain';
import type { ApiEnv } from '../context';
import type * as routes from './routes';

export const createToken: RouteHandler<typeof routes.createToken, ApiEnv> = async (c) => {
  const created = await c.var.store.tokens.create(
    c.req.valid('json'),
    c.var.principal?.name ?? 'unknown',
  );
  // The secret goes to the caller and nowhere else: not into the log line.
  c.var.logger.info({ token: created.id, name: created.name, role: created.role }, 'token created');
  return c.json(created, 201);
};

export const listTokens: RouteHandler<typeof routes.listTokens, ApiEnv> = async (c) => {
  return c.json({ items: await c.var.store.tokens.list() }, 200);
};

export const revokeToken: RouteHandler<typeof routes.revokeToken, ApiEnv> = async (c) => {
  const { id } = c.req.valid('param');
  if (!(await c.var.store.tokens.revoke(id))) throw notFound('token', id);
  c.var.logger.info({ token: id }, 'token revoked');
  return c.body(null, 204);
};

export const listAudit: RouteHandler<typeof routes.listAudit, ApiEnv> = async (c) => {
  return c.json({ items: await c.var.store.audit.list(c.req.valid('query').limit) }, 200);
};

export const whoami: RouteHandler<typeof routes.whoami, ApiEnv> = (c) => {
  const principal = c.var.principal;
  // The authentication middleware sets it on every /api/ route that needs a role.
  if (principal === undefined) {
    throw new RelguardError(FailureType.Unavailable, 'no principal on an authenticated route');
  }
  return c.json({ name: principal.name, role: principal.role }, 200);
};
