import type { RouteHandler } from '@hono/zod-openapi';
import { conflict } from '../../domain';
import type { ApiEnv } from '../context';
import { prometheusOf } from '../prometheus-series';
import { queryRedMetrics } from './red-metrics';
import type * as routes from './routes';

export const createApplication: RouteHandler<typeof routes.createApplication, ApiEnv> = async (
  c,
) => {
  const app = await c.var.store.applications.create(c.req.valid('json'));
  c.var.logger.info({ app: app.name, id: app.id }, 'application created');
  return c.json(app, 201);
};

export const listApplications: RouteHandler<typeof routes.listApplications, ApiEnv> = async (c) =>
  c.json({ items: await c.var.store.applications.list() }, 200);

export const getApplication: RouteHandler<typeof routes.getApplication, ApiEnv> = async (c) =>
  c.json(await c.var.store.applications.get(c.req.valid('param').id), 200);

export const updateApplication: RouteHandler<typeof routes.updateApplication, ApiEnv> = async (
  c,
) => {
  const { id } = c.req.valid('param');
  const app = await c.var.store.applications.update(id, c.req.valid('json'));
  c.var.logger.info({ app: app.name, id }, 'application updated');
  return c.json(app, 200);
};

export const deleteApplication: RouteHandler<typeof routes.deleteApplication, ApiEnv> = async (
  c,
) => {
  const { id } = c.req.valid('param');
  const { applications, deployments } = c.var.store;
  const app = await applications.get(id);
  const active = await deployments.findActive(id);
  if (active !== undefined) {
    throw conflict(`${app.name} has a release in progress (${active.id}); end it first`, {
      deployment_id: active.id,
    });
  }
  await applications.delete(id);
  c.var.logger.info({ app: app.name, id }, 'application deleted');
  return c.body(null, 204);
};

export const getApplicationMetrics: RouteHandler<
  typeof routes.getApplicationMetrics,
  ApiEnv
> = async (c) => {
  const app = await c.var.store.applications.get(c.req.valid('param').id);
  const prometheus = prometheusOf(c.var);
  const to = Date.now();
  const from = to - c.req.valid('query').minutes * 60_000;
  return c.json(await queryRedMetrics(prometheus, app, { from, to }), 200);
};
