import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context';
import { validationHook } from '../errors';
import * as handlers from './handlers';
import * as routes from './routes';

export const tokensApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  .openapi(routes.createToken, handlers.createToken)
  .openapi(routes.listTokens, handlers.listTokens)
  .openapi(routes.revokeToken, handlers.revokeToken)
  .openapi(routes.listAudit, handlers.listAudit)
  .openapi(routes.whoami, handlers.whoami);
