import { describe, expect, it } from 'vitest';
import { PullRequest, type CulpritSignals, type FaultClass } from '../../domain';
import { fileKind, patchLines, rankSuspects } from '../../domain/culprit';

type FileInput = { path: string; patch?: string; additions?: number; deletions?: number };

/** A merged pull request; additions and deletions are counted from the patch unless given. */
function pr(number: number, title: string, files: FileInput[], body = ''): PullRequest {
  return PullRequest.parse({
    number,
    title,
    body,
    author: `dev${number}`,
    url: `https://github.com/acme/shop/pull/${number}`,
    commit: `${number}`.padStart(40, 'a'),
    files: files.map((file) => {
      const { added, removed } = patchLines(file.patch);
      return {
        path: file.path,
        patch: file.patch,
        additions: file.additions ?? added.length,
        deletions: file.deletions ?? removed.length,
      };
    }),
  });
}

const diff = (...lines: string[]): string => ['@@ -1,4 +1,6 @@', ...lines].join('\n');

// The demo's built-in bug: the release ships a config that fails a third of the payments.
const payErrorConfig = pr(41, 'Turn on the new payment provider', [
  {
    path: 'mockserver.config.json',
    patch: diff(
      '-{ "faults": [] }',
      '+{',
      '+  "faults": [',
      '+    { "type": "error", "params": { "rate": 0.3, "routes": ["/api/pay"] } }',
      '+  ]',
      '+}',
    ),
  },
]);

// A code change that fails payments: a throw on the payment path, the retry taken out.
const payThrow = pr(42, 'Call the payment gateway directly', [
  {
    path: 'src/routes/pay.ts',
    patch: diff(
      ' export async function handlePay(request: PayRequest): Promise<Receipt> {',
      '-  const receipt = await retry(() => gateway.charge(request), { attempts: 3 });',
      '+  const receipt = await gateway.charge(request);',
      '+  if (!receipt.ok) throw new ApiError(502, "payment_failed", receipt.reason);',
      '   return receipt;',
    ),
  },
]);

const readmePay = pr(43, 'Document POST /api/pay and the payment flow', [
  {
    path: 'README.md',
    patch: diff(
      '+## Payments',
      '+`POST /api/pay` charges an order; it answers 500 when the payment gateway fails,',
      '+so clients should retry with backoff.',
    ),
  },
  { path: 'docs/payments.md', patch: diff('+Error codes: 402, 500, 503.') },
]);

const ordersLatency = pr(44, 'Orders: wait for the warehouse before answering', [
  {
    path: 'src/routes/orders.ts',
    patch: diff(
      " router.get('/api/orders', async (request, response) => {",
      '+  for (const order of orders) {',
      '+    await warehouse.reserve(order.id, { timeout: 2000 });',
      '+  }',
      '+  await sleep(20);',
      '   response.status(200).json(orders);',
    ),
  },
]);

const dependencyBump = pr(45, 'Bump pino from 9.4.0 to 10.4.0', [
  {
    path: 'package.json',
    patch: diff('-    "pino": "9.4.0",', '+    "pino": "10.4.0",'),
  },
  {
    path: 'package-lock.json',
    patch: diff(
      '-      "version": "9.4.0",',
      '+      "version": "10.4.0",',
      '+      "resolved": "https://registry.npmjs.org/pino/-/pino-10.4.0.tgz",',
      '+      "dependencies": { "async-retry": "1.3.3", "thread-stream": "4.0.0" },',
    ),
  },
]);

const paymentTests = pr(46, 'Test that /api/pay answers 500 when the gateway throws', [
  {
    path: 'test/pay.test.ts',
    patch: diff(
      "+it('answers 500 when the payment gateway throws', async () => {",
      "+  gateway.charge.mockRejectedValue(new Error('down'));",
      "+  expect((await post('/api/pay', order)).status).toBe(500);",
      '+});',
    ),
  },
]);

const ordersCache = pr(47, 'Cache the order list per user', [
  {
    path: 'src/orders/cache.ts',
    patch: diff(
      '+const cache = new Map<string, Order[]>();',
      '+export function remember(userId: string, orders: Order[]): void {',
      '+  cache.set(userId, orders);',
      '+  history.push({ userId, orders, at: Date.now() });',
      '+}',
    ),
  },
]);

const usersCpu = pr(48, 'Hash user ids with pbkdf2 before the lookup', [
  {
    path: 'src/routes/users.ts',
    patch: diff(
      " import { pbkdf2Sync } from 'node:crypto';",
      '+  const key = pbkdf2Sync(request.params.id, salt, 200_000, 64, "sha512");',
      '+  while (retries-- > 0) lookups.sort(byScore);',
    ),
  },
]);

const releaseFour = [readmePay, ordersLatency, payErrorConfig, dependencyBump];

const errorsOnPay: CulpritSignals = { fault_class: 'errors', routes: ['/api/pay'] };

const rank = (prs: PullRequest[], signals: CulpritSignals) =>
  rankSuspects(prs, signals).map((suspect) => suspect.number);

const scoreOf = (prs: PullRequest[], signals: CulpritSignals, number: number): number =>
  rankSuspects(prs, signals).find((suspect) => suspect.number === number)?.score ?? NaN;

describe('rankSuspects', () => {
  it.each<[string, PullRequest[], CulpritSignals, number[]]>([
    [
      'errors on /api/pay: the config that adds the error fault first',
      releaseFour,
      errorsOnPay,
      [41],
    ],
    [
      'errors on /api/pay: a throw in routes/pay.ts, retry removed, beats docs and orders',
      [readmePay, ordersLatency, payThrow, dependencyBump, paymentTests],
      errorsOnPay,
      [42],
    ],
    [
      'latency on /api/orders: the warehouse waits in a loop',
      [payErrorConfig, readmePay, ordersLatency, dependencyBump],
      { fault_class: 'latency', routes: ['/api/orders'] },
      [44],
    ],
    [
      'memory with no route: the unbounded cache',
      [ordersLatency, ordersCache, dependencyBump, readmePay],
      { fault_class: 'memory', routes: [] },
      [47],
    ],
    [
      'cpu on /api/users/:id: pbkdf2 and a sort in a loop',
      [ordersCache, usersCpu, payThrow, dependencyBump],
      { fault_class: 'cpu', routes: ['/api/users/:id'] },
      [48],
    ],
  ])('%s', (_title, prs, signals, first) => {
    expect(rank(prs, signals).slice(0, first.length)).toEqual(first);
  });

  it('scores the culprit high and every unrelated change low', () => {
    const suspects = rankSuspects(releaseFour, errorsOnPay);
    const byNumber = new Map(suspects.map((suspect) => [suspect.number, suspect]));
    expect(byNumber.get(41)?.score).toBeGreaterThanOrEqual(0.8);
    for (const unrelated of [43, 44, 45]) {
      expect(byNumber.get(unrelated)?.score).toBeLessThan(0.25);
    }
  });

  it.each<[string, number, PullRequest]>([
    // README and docs mention /api/pay, 500 and payments, but they do not run.
    ['a README that mentions pay', 0.1, readmePay],
    // Tests full of /api/pay, 500 and throw: they do not run in production either.
    ['tests of /api/pay', 0.1, paymentTests],
    // Latency words on another route mean nothing for errors on /api/pay.
    ['a latency tweak on /api/orders', 0.15, ordersLatency],
    // A lock file full of words (async-retry, thread-stream) must not match anything.
    ['a dependency bump', 0.2, dependencyBump],
  ])('errors on /api/pay: %s stays below %s', (_title, ceiling, change) => {
    expect(scoreOf([change, payErrorConfig], errorsOnPay, change.number!)).toBeLessThan(ceiling);
  });

  it('names what matched in the evidence, strongest lead first', () => {
    const [culprit] = rankSuspects(releaseFour, errorsOnPay);
    expect(culprit).toMatchObject({
      number: 41,
      title: 'Turn on the new payment provider',
      author: 'dev41',
      url: 'https://github.com/acme/shop/pull/41',
    });
    expect(culprit?.evidence[0]).toBe(
      'adds an "error" fault in mockserver.config.json, and errors is what went bad',
    );
    expect(culprit?.evidence).toContain('adds lines mentioning /api/pay in mockserver.config.json');
    expect(culprit?.evidence).toContain('the title mentions payment (/api/pay)');

    const [thrower] = rankSuspects([payThrow], errorsOnPay);
    expect(thrower?.evidence).toEqual(
      expect.arrayContaining([
        'changes src/routes/pay.ts, named after /api/pay',
        'adds lines with throw, Error, 5xx status in src/routes/pay.ts (typical of errors)',
        'removes lines with retry in src/routes/pay.ts (what kept errors down)',
      ]),
    );
  });

  it('says why an unrelated change is low', () => {
    const evidence = (change: PullRequest) => rankSuspects([change], errorsOnPay)[0]?.evidence;
    expect(evidence(readmePay)).toContain(
      'changes only docs files (README.md, docs/payments.md), which do not run in production',
    );
    expect(evidence(ordersLatency)).toContain(
      'its code is about /api/orders, not /api/pay, which went bad',
    );
    expect(evidence(dependencyBump)?.[0]).toMatch(/^changes dependencies in package\.json/);
  });

  it('does not take /api/payouts or a payload for /api/pay', () => {
    const payouts = pr(50, 'Add payouts', [
      {
        path: 'src/routes/payouts.ts',
        patch: diff("+router.post('/api/payouts', (request) => send(request.payload));"),
      },
    ]);
    const [suspect] = rankSuspects([payouts], errorsOnPay);
    expect(suspect?.evidence.join('\n')).not.toContain('/api/pay ');
    expect(suspect?.evidence.join('\n')).not.toMatch(/mentioning .*\/api\/pay\b(?!outs)/);
    expect(suspect?.score).toBeLessThan(0.2);
  });

  it('matches nothing for a route without a static segment', () => {
    const [suspect] = rankSuspects([payThrow], { fault_class: 'errors', routes: ['/', '/:slug'] });
    expect(suspect?.evidence.join('\n')).not.toMatch(/mentioning|next to|named after/);
  });

  it('a fault of another class in the config counts, but far less than the one that went bad', () => {
    const latencyConfig = pr(51, 'Slow down orders for the demo', [
      {
        path: 'mockserver.config.json',
        patch: diff('+{ "faults": [{ "type": "latency", "params": { "ms": 300 } }] }'),
      },
    ]);
    const [suspect] = rankSuspects([latencyConfig], errorsOnPay);
    expect(suspect?.evidence).toContain(
      'adds a "latency" fault in mockserver.config.json (latency, not errors)',
    );
    expect(suspect?.score).toBeLessThan(0.35);
    expect(scoreOf([latencyConfig], { fault_class: 'latency', routes: [] }, 51)).toBeGreaterThan(
      0.6,
    );
  });

  it.each<FaultClass>(['errors', 'latency', 'cpu', 'memory', 'saturation', 'unknown'])(
    'keeps every score in 0..1 with evidence, sorted, for fault class %s',
    (faultClass) => {
      const all = [
        ...releaseFour,
        payThrow,
        paymentTests,
        ordersCache,
        usersCpu,
        pr(60, 'Empty', []),
      ];
      const suspects = rankSuspects(all, { fault_class: faultClass, routes: ['/api/pay'] });
      expect(suspects).toHaveLength(all.length);
      for (const suspect of suspects) {
        expect(suspect.score).toBeGreaterThanOrEqual(0);
        expect(suspect.score).toBeLessThanOrEqual(1);
        expect(suspect.evidence.length).toBeGreaterThan(0);
      }
      const scores = suspects.map((suspect) => suspect.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    },
  );

  it('keeps the input order (newest first) between equal scores, and an empty list empty', () => {
    const a = pr(70, 'Tidy', []);
    const b = pr(71, 'Tidy more', []);
    expect(rank([a, b], errorsOnPay)).toEqual([70, 71]);
    expect(rankSuspects([], errorsOnPay)).toEqual([]);
    expect(rankSuspects([a], errorsOnPay)[0]?.evidence).toEqual([
      'nothing in its title, files or patches points at /api/pay or errors',
    ]);
  });
});

describe('fileKind', () => {
  it.each([
    ['src/routes/pay.ts', 'code'],
    ['mockserver/routes.ts', 'code'],
    ['mockserver.config.json', 'config'],
    ['deploy/app.yaml', 'config'],
    ['.env.production', 'config'],
    ['package.json', 'dependencies'],
    ['go.sum', 'dependencies'],
    ['requirements-dev.txt', 'dependencies'],
    ['README.md', 'docs'],
    ['docs/pay.html', 'docs'],
    ['CHANGELOG', 'docs'],
    ['test/unit/pay.test.ts', 'test'],
    ['src/pay.spec.ts', 'test'],
    ['pkg/pay_test.go', 'test'],
    ['.github/workflows/ci.yml', 'ci'],
  ])('%s is %s', (path, kind) => {
    expect(fileKind(path)).toBe(kind);
  });
});

describe('patchLines', () => {
  it('splits added, removed and context lines, leaving out the file headers', () => {
    const patch = [
      '--- a/x.ts',
      '+++ b/x.ts',
      '@@ -1,3 +1,3 @@',
      ' keep',
      '-old',
      '+new',
      '+++counter',
    ].join('\n');
    expect(patchLines(patch)).toEqual({
      added: ['new', '++counter'],
      removed: ['old'],
      context: ['keep'],
    });
    // A patch as GitHub gives it starts at its first hunk; its heading names the function.
    expect(patchLines('@@ -3 +3 @@ function pay() {\n+a\n-b')).toEqual({
      added: ['a'],
      removed: ['b'],
      context: ['function pay() {'],
    });
    expect(patchLines(undefined)).toEqual({ added: [], removed: [], context: [] });
  });
});
