import { z } from 'zod';
import { businessRoutes } from '../route-names';
import { defineFault, hits, percentSchema, routesSchema } from './define';

/** Adds `ms` ± `jitter_ms` (uniform) before the handler runs, on `percent` of requests. */
export const latencyFault = defineFault({
  type: 'latency',
  schema: (limits) =>
    z.strictObject({
      ms: z.number().int().min(0).max(limits.maxDurationMs),
      jitter_ms: z.number().int().min(0).max(limits.maxDurationMs).default(0),
      routes: routesSchema(businessRoutes),
      percent: percentSchema,
    }),
  start: (params) => ({
    stop: () => undefined,
    onRequest(route, effect) {
      if (!hits(route, params.routes, businessRoutes, params.percent)) return;
      const jitter = (Math.random() * 2 - 1) * params.jitter_ms;
      effect.delayMs += Math.max(0, params.ms + jitter);
    },
  }),
});
