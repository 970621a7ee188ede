import { z } from 'zod';
import { businessRoutes, networkRoutes } from '../route-names';
import { defineFault, hits, percentSchema, routesSchema } from './define';

/**
 * Misbehaves on the wire: `drop` resets the connection, `timeout` holds the request without
 * an answer until the fault ends (then resets it) or the client gives up, `bandwidth_kbps`
 * trickles response bodies. Exactly one mode per fault; start several faults to combine.
 */
export const networkFault = defineFault({
  type: 'network',
  schema: () =>
    z
      .strictObject({
        drop: z.boolean().optional(),
        timeout: z.boolean().optional(),
        bandwidth_kbps: z.number().min(0.1).max(1_000_000).optional(),
        percent: percentSchema,
        routes: routesSchema(networkRoutes),
      })
      .refine(
        (params) =>
          [
            params.drop === true,
            params.timeout === true,
            params.bandwidth_kbps !== undefined,
          ].filter(Boolean).length === 1,
        { message: 'set exactly one of drop=true, timeout=true or bandwidth_kbps', path: ['drop'] },
      ),
  start: (params) => {
    let release: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      release = resolve;
    });
    return {
      stop: () => release(),
      onRequest(route, effect) {
        if (!hits(route, params.routes, businessRoutes, params.percent)) return;
        if (params.drop === true) {
          effect.network = 'drop';
        } else if (params.timeout === true) {
          if (effect.network !== 'drop') {
            effect.network = 'timeout';
            effect.hangUntil = ended;
          }
        } else if (params.bandwidth_kbps !== undefined) {
          effect.bandwidthKbps = Math.min(effect.bandwidthKbps ?? Infinity, params.bandwidth_kbps);
        }
      },
    };
  },
});
