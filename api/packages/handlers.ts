import type { RouteHandler } from '@hono/zod-openapi';
import type { ApiEnv } from '../context';
import type * as routes from './routes';

export const createPackage: RouteHandler<typeof routes.createPackage, ApiEnv> = async (c) => {
  const { app_id, version } = c.req.valid('json');
  const app = await c.var.store.applications.get(app_id);
  const existing = await c.var.store.packages.findByVersion(app.id, version);
  if (existing !== undefined) return c.json(existing, 200);
  const { workflowId } = await c.var.releases.buildPackage(app, version);
  c.var.logger.info({ app: app.name, version, workflowId }, 'package build started');
  return c.json(
    { workflow_id: workflowId, workflow_url: c.var.releases.workflowUrl(workflowId) },
    202,
  );
};

export const listPackages: RouteHandler<typeof routes.listPackages, ApiEnv> = async (c) => {
  const app = await c.var.store.applications.get(c.req.valid('param').id);
  return c.json({ items: await c.var.store.packages.listByApp(app.id) }, 200);
};
