import type { RouteHandler } from '@hono/zod-openapi';
import { ZodError } from 'zod';
import { FailureType, notFound, RelguardError } from '../../domain';
import type { ApiEnv } from '../context';
import { validationBody } from '../errors';
import type * as routes from './routes';

export const createToken: RouteHandler<typeof routes.createToken, ApiEnv> = async (c) => {
  const input = c.req.valid('json');
  const now = Date.now();
  if (input.expires_at !== undefined && input.expires_at <= now) {
    const error = new ZodError([
      {
        code: 'custom' as const,
        path: ['expires_at'],
        message: `${new Date(input.expires_at).toISOString()} is not in the future: the token would be born expired`,
        input: input.expires_at,
      },
    ]);
    return c.json(validationBody(error, 'request body'), 422);
  }
  const created = await c.var.store.tokens.create(input, c.var.principal?.name ?? 'unknown', now);
  // The secret goes to the caller and nowhere else: not into the log line.
  c.var.logger.info(
    { token: created.id, name: created.name, role: created.role, expires_at: created.expires_at },
    'token created',
  );
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
