import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context';
import { validationHook } from '../errors';
import * as handlers from './handlers';
import * as routes from './routes';

export const packagesApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  .openapi(routes.createPackage, handlers.createPackage)
  .openapi(routes.listPackages, handlers.listPackages)
  .openapi(routes.uploadPackage, handlers.uploadPackage);
