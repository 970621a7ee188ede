import { z } from 'zod';
import { invalidParameters } from '../errors';
import type { FaultDefinition, FaultKind, FaultLimits } from './types';

/** Builds a FaultKind from a zod schema, so every type validates and reports the same way. */
export function defineFault<Schema extends z.ZodType<Record<string, unknown>>>(
  definition: FaultDefinition<Schema>,
): FaultKind {
  return {
    type: definition.type,
    prepare(rawParams: unknown, limits: FaultLimits) {
      const result = definition.schema(limits).safeParse(rawParams ?? {});
      if (!result.success) throw invalidParameters(result.error, 'params');
      const params = result.data;
      return {
        params,
        cost: definition.cost?.(params) ?? {},
        start: (context) => definition.start(params, context),
      };
    },
  };
}

/** 0..100, the share of matching requests a fault hits. */
export const percentSchema = z.number().min(0).max(100).default(100);

/**
 * Route templates a request fault applies to; a comma-separated string is accepted so the
 * curl shorthand can say `routes=/api/pay,/api/orders`.
 */
export function routesSchema(allowed: readonly string[]) {
  return z
    .preprocess(
      (value) => (typeof value === 'string' ? value.split(',').map((part) => part.trim()) : value),
      z
        .array(
          z.string().refine((route) => allowed.includes(route), {
            message: `unknown route; expected one of ${allowed.join(', ')}`,
          }),
        )
        .min(1),
    )
    .optional();
}

/** Whether a request on `route` is one this fault hits, rolling the dice for `percent`. */
export function hits(
  route: string,
  routes: readonly string[] | undefined,
  defaultRoutes: readonly string[],
  percent: number,
): boolean {
  if (!(routes ?? defaultRoutes).includes(route)) return false;
  return percent >= 100 || Math.random() * 100 < percent;
}
