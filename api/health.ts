import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ApiEnv } from './context';

const DependencyStatus = z.enum(['ok', 'error']);
const Health = z
  .object({
    status: DependencyStatus,
    temporal: DependencyStatus,
    mongo: DependencyStatus,
  })
  .openapi('Health');

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['health'],
  operationId: 'getHealth',
  security: [],
  summary: 'Whether the api reaches Temporal and MongoDB, each reported on its own',
  responses: {
    200: { description: 'Both answer', content: { 'application/json': { schema: Health } } },
    503: { description: 'One is down', content: { 'application/json': { schema: Health } } },
  },
});

export const healthApi = new OpenAPIHono<ApiEnv>().openapi(healthRoute, async (c) => {
  const [temporalUp, mongoUp] = await Promise.all([c.var.temporal.check(), c.var.store.ping()]);
  const temporal = temporalUp ? 'ok' : 'error';
  const mongo = mongoUp ? 'ok' : 'error';
  if (temporalUp && mongoUp) return c.json({ status: 'ok', temporal, mongo } as const, 200);
  return c.json({ status: 'error', temporal, mongo } as const, 503);
});
