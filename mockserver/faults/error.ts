import { z } from 'zod';
import { businessRoutes } from '../route-names';
import { defineFault, hits, routesSchema } from './define';

/** Answers `rate` of the requests on its routes with `status` instead of running the handler. */
export const errorFault = defineFault({
  type: 'error',
  schema: () =>
    z.strictObject({
      rate: z.number().min(0).max(1),
      status: z.number().int().min(400).max(599).default(500),
      routes: routesSchema(businessRoutes),
    }),
  start: (params) => ({
    stop: () => undefined,
    onRequest(route, effect) {
      // The first error fault that hits decides the status; the others do not roll again.
      if (effect.errorStatus !== undefined) return;
      if (hits(route, params.routes, businessRoutes, 100) && Math.random() < params.rate) {
        effect.errorStatus = params.status;
      }
    },
  }),
});
