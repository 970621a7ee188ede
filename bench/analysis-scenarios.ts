import type { FaultClass, PullRequest } from '../domain';

/** A fault injected into the new version, the pull request that "caused" it, and its decoys. */
export interface AnalysisScenario {
  name: string;
  /** What the mockserver's POST /faults takes. */
  fault: { type: string; params: Record<string, unknown> };
  faultClass: FaultClass;
  culprit: PullRequest;
  /** Pull requests of the same release that did not cause it (some look close). */
  others: PullRequest[];
}

let commit = 0;
function pull(
  number: number,
  title: string,
  author: string,
  files: Record<string, string>,
  body = '',
): PullRequest {
  commit++;
  return {
    number,
    title,
    body,
    author,
    url: `https://github.com/acme/shop/pull/${number}`,
    commit: commit.toString(16).padStart(40, '0'),
    files: Object.entries(files).map(([path, patch]) => ({
      path,
      additions: patch.split('\n').filter((line) => line.startsWith('+')).length,
      deletions: patch.split('\n').filter((line) => line.startsWith('-')).length,
      patch,
      truncated: false,
    })),
  };
}

/** Changes every release carries that have nothing to do with any fault. */
const background = [
  pull(101, 'Bump pino from 10.3.0 to 10.4.0', 'dependabot', {
    'package.json': '@@ -20,7 +20,7 @@\n-    "pino": "10.3.0",\n+    "pino": "10.4.0",',
  }),
  pull(102, 'Docs: on-call runbook for payments and orders', 'dana', {
    'docs/runbook.md':
      '@@ -0,0 +1,6 @@\n+# Runbook\n+When /api/pay errors rise, check the gateway status page.\n+When /api/orders is slow, check the database.',
  }),
  pull(103, 'CI: cache npm between runs', 'erik', {
    '.github/workflows/ci.yml':
      '@@ -12,6 +12,8 @@\n+      - uses: actions/cache@v4\n+        with:\n+          path: ~/.npm',
  }),
  pull(104, 'Tests: cover order totals with discounts', 'fay', {
    'test/orders.test.ts':
      "@@ -0,0 +1,5 @@\n+it('applies the discount', () => {\n+  expect(total({ items: [10, 20], discount: 0.1 })).toBe(27);\n+});",
  }),
];

const payNoRetry = pull(
  201,
  'Payments: call the new gateway directly',
  'alice',
  {
    'src/routes/pay.ts':
      '@@ -14,9 +14,7 @@ export async function pay(request) {\n-  const charge = await retry(() => gateway.charge(order), { attempts: 3 });\n+  const charge = await gateway.v2.charge(order);\n   if (!charge.ok) {\n-    return queueForRetry(order);\n+    throw new PaymentError(`charge failed: ${charge.status}`);\n   }',
  },
  'The v2 gateway is faster; the retry wrapper is not needed any more.',
);
const ordersOneByOne = pull(202, 'Orders: load line items with their product details', 'bob', {
  'src/routes/orders.ts':
    '@@ -30,6 +30,10 @@ export async function listOrders(request) {\n   const orders = await db.orders.find({ user: request.user });\n+  for (const order of orders) {\n+    for (const item of order.items) {\n+      item.product = await db.products.findOne({ id: item.productId });\n+    }\n+  }\n   return orders;',
});
const usersNewStore = pull(203, 'Users: read profiles from the new profile store', 'carol', {
  'src/routes/users.ts':
    '@@ -8,7 +8,10 @@ export async function getUser(request, reply) {\n-  const profile = await legacyStore.get(request.params.id);\n+  const profile = await profileStore.get(request.params.id);\n+  if (!profile) {\n+    return reply.status(503).send({ error: "profile store unavailable" });\n+  }\n   return profile;',
});
const moreHashRounds = pull(204, 'Auth: hash session tokens with more rounds', 'dave', {
  'src/auth/tokens.ts':
    "@@ -3,5 +3,9 @@\n export function tokenHash(token) {\n-  return crypto.createHash('sha256').update(token).digest('hex');\n+  let digest = token;\n+  for (let round = 0; round < 200_000; round++) {\n+    digest = crypto.createHash('sha256').update(digest).digest('hex');\n+  }\n+  return digest;\n }",
});
const cacheForever = pull(
  205,
  'Render: keep rendered pages in memory',
  'erin',
  {
    'src/render/cache.ts':
      '@@ -0,0 +1,9 @@\n+const pages = new Map();\n+export function cached(key, render) {\n+  if (!pages.has(key)) {\n+    pages.set(key, Buffer.from(render()));\n+  }\n+  return pages.get(key);\n+}',
  },
  'Pages are never evicted: there are only a few of them.',
);
const fraudCheck = pull(206, 'Pay: wait for the fraud check before charging', 'frank', {
  'src/routes/pay.ts':
    '@@ -10,6 +10,8 @@ export async function pay(request) {\n   const order = await orders.get(request.body.orderId);\n+  // The fraud service answers within 2 s at worst.\n+  await fraud.check(order, { timeout: 2000 });\n   const charge = await gateway.charge(order);',
});
// Decoys: the right route with the wrong kind of change, or the wrong route with the right one.
const payLogDeclines = pull(301, 'Pay: log declined cards as errors', 'gina', {
  'src/routes/pay.ts':
    "@@ -22,6 +22,7 @@\n   if (charge.declined) {\n+    logger.error({ order: order.id }, 'card declined');\n     return reply.status(402).send({ error: 'declined' });",
});
const ordersTimeout = pull(302, 'Orders: raise the database timeout to 5 s', 'hank', {
  'src/db.ts':
    '@@ -4,3 +4,3 @@\n-export const queryTimeoutMs = 2000;\n+export const queryTimeoutMs = 5000;',
});

export const scenarios: AnalysisScenario[] = [
  {
    name: 'errors on /api/pay',
    fault: { type: 'error', params: { rate: 0.4, routes: ['/api/pay'] } },
    faultClass: 'errors',
    culprit: payNoRetry,
    others: [...background, ordersTimeout],
  },
  {
    name: 'latency on /api/orders',
    fault: { type: 'latency', params: { ms: 400, routes: ['/api/orders'] } },
    faultClass: 'latency',
    culprit: ordersOneByOne,
    others: [...background, payLogDeclines],
  },
  {
    name: 'errors on /api/users/:id',
    fault: { type: 'error', params: { rate: 0.5, status: 503, routes: ['/api/users/:id'] } },
    faultClass: 'errors',
    culprit: usersNewStore,
    others: [...background, payLogDeclines, ordersTimeout],
  },
  {
    name: 'latency on /api/pay',
    fault: { type: 'latency', params: { ms: 300, routes: ['/api/pay'] } },
    faultClass: 'latency',
    culprit: fraudCheck,
    others: [...background, payLogDeclines],
  },
  {
    name: 'cpu burn',
    fault: { type: 'cpu', params: { percent: 70, cores: 1 } },
    faultClass: 'cpu',
    culprit: moreHashRounds,
    others: [...background, ordersTimeout],
  },
  {
    name: 'memory growth',
    fault: { type: 'memory', params: { mb: 300, rate: 30 } },
    faultClass: 'memory',
    culprit: cacheForever,
    others: [...background, payLogDeclines],
  },
];
