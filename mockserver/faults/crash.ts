import { z } from 'zod';
import { defineFault } from './define';

/**
 * Exits the process with code 1 after `delay_ms`, as an unhandled bug would. A fault whose
 * duration is shorter than its delay ends first, and the crash never happens.
 */
export const crashFault = defineFault({
  type: 'crash',
  schema: (limits) =>
    z.strictObject({
      delay_ms: z.number().int().min(0).max(limits.maxDurationMs).default(0),
    }),
  start: (params, context) => {
    const timer = setTimeout(() => {
      context.logger.warn({ faultId: context.id }, 'crash fault: exiting with code 1');
      context.exit(1);
    }, params.delay_ms);
    return { stop: () => clearTimeout(timer) };
  },
});
