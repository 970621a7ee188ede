import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context';
import { validationHook } from '../errors';
import * as handlers from './handlers';
import * as routes from './routes';

export const applicationsApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  .openapi(routes.createApplication, handlers.createApplication)
  .openapi(routes.listApplications, handlers.listApplications)
  .openapi(routes.getApplication, handlers.getApplication)
  .openapi(routes.getApplicationMetrics, handlers.getApplicationMetrics)
  .openapi(routes.updateApplication, handlers.updateApplication)
  .openapi(routes.deleteApplication, handlers.deleteApplication)
  .openapi(routes.listMachineEvents, handlers.listMachineEvents);
