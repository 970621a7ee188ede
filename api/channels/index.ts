import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context';
import { validationHook } from '../errors';
import * as handlers from './handlers';
import * as routes from './routes';

export const channelsApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  .openapi(routes.listChannels, handlers.listChannels)
  .openapi(routes.putChannel, handlers.putChannel)
  .openapi(routes.deleteChannel, handlers.deleteChannel);
