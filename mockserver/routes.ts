import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { jsonReply as json, type Reply } from './http';
import type { businessRoutes } from './route-names';

export interface BusinessRequest {
  params: Record<string, string>;
  readBody: () => Promise<string>;
}

export interface BusinessRoute {
  route: (typeof businessRoutes)[number];
  method: 'GET' | 'POST';
  /** Uniform baseline latency, so the demo's latency histogram looks like a real service's. */
  baselineMs: readonly [min: number, max: number];
  handle(request: BusinessRequest): Promise<Reply> | Reply;
}

const errorReply = (status: number, code: string, message: string, details?: unknown): Reply =>
  json(status, { error: { code, message, details: details ?? null } });

const products = ['keyboard', 'monitor', 'headset', 'webcam', 'dock', 'mouse', 'lamp', 'chair'];
const names = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Radia'];

// The order book is fixed: the endpoint exists to be called and faulted, not to be correct.
const ordersBody = JSON.stringify({
  orders: Array.from({ length: 12 }, (_, index) => ({
    id: `ord-${1000 + index}`,
    user_id: (index * 37) % 500,
    item: products[index % products.length],
    quantity: (index % 3) + 1,
    amount_cents: 1999 + index * 350,
    currency: 'EUR',
    status: index % 5 === 0 ? 'shipped' : 'paid',
  })),
});

const paymentSchema = z.object({
  order_id: z.string().min(1).max(64),
  amount_cents: z.number().int().positive(),
  currency: z.string().length(3).default('EUR'),
});

export const businessRouteTable: readonly BusinessRoute[] = [
  {
    route: '/api/orders',
    method: 'GET',
    baselineMs: [5, 25],
    handle: () => ({ status: 200, body: ordersBody }),
  },
  {
    route: '/api/users/:id',
    method: 'GET',
    baselineMs: [2, 10],
    handle: ({ params }) => {
      const id = params.id ?? '';
      if (!/^\d{1,9}$/.test(id)) {
        return errorReply(400, 'invalid_parameter', 'invalid id: expected digits', [
          { parameter: 'id', message: 'expected digits' },
        ]);
      }
      const number = Number(id);
      return json(200, {
        id: number,
        name: `${names[number % names.length] ?? 'user'} ${number}`,
        email: `user${number}@example.com`,
        tier: number % 10 === 0 ? 'gold' : 'standard',
      });
    },
  },
  {
    route: '/api/pay',
    method: 'POST',
    baselineMs: [15, 45],
    handle: async ({ readBody }) => {
      let payload: unknown;
      try {
        payload = JSON.parse(await readBody());
      } catch {
        return errorReply(400, 'invalid_json', 'request body is not JSON');
      }
      const parsed = paymentSchema.safeParse(payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const parameter = issue?.path.join('.') ?? '(body)';
        return errorReply(
          400,
          'invalid_parameter',
          `invalid ${parameter}: ${issue?.message ?? 'invalid'}`,
        );
      }
      return json(201, {
        payment_id: randomUUID(),
        order_id: parsed.data.order_id,
        amount_cents: parsed.data.amount_cents,
        currency: parsed.data.currency,
        status: 'captured',
      });
    },
  },
];

// Templates with a parameter are matched by prefix below, never as literal paths.
const byPath = new Map(
  businessRouteTable
    .filter((entry) => !entry.route.includes(':'))
    .map((entry) => [entry.route as string, entry]),
);
const userRoute = businessRouteTable.find((entry) => entry.route === '/api/users/:id');
const userPrefix = '/api/users/';

/** The business route for `path` and the params it binds, or undefined. */
export function matchBusinessRoute(
  path: string,
): { route: BusinessRoute; params: Record<string, string> } | undefined {
  const exact = byPath.get(path);
  if (exact !== undefined) return { route: exact, params: {} };
  if (userRoute !== undefined && path.startsWith(userPrefix)) {
    const id = path.slice(userPrefix.length);
    if (id === '' || id.includes('/')) return undefined;
    return { route: userRoute, params: { id } };
  }
  return undefined;
}

export async function baselineDelay(route: BusinessRoute): Promise<void> {
  const [min, max] = route.baselineMs;
  await sleep(min + Math.random() * (max - min));
}
