import { describe, expect, it } from 'vitest';
import { formatAgo } from '../../cli/format';
import { byHealth, unknownCount, worstStatus } from '../../domain/fleet-health';
import type { MachineEvent } from '../../client';
import type { Application, Machine } from '../../domain';
import { fakeApi, machineEventsRoute, on, runWith, shopApp } from './fake-api';

/** The clock runWith gives the CLI. */
const now = Date.UTC(2025, 0, 2, 3, 4, 5);

function appWith(name: string, id: string, machines: Machine[]): Application {
  const count = (status: Machine['status']) => machines.filter((m) => m.status === status).length;
  return {
    ...shopApp,
    id,
    name,
    machines,
    machine_count: machines.length,
    health_count: count('healthy'),
    error_count: count('error'),
    alert_count: count('alert'),
  };
}

const machine = (id: string, port: number, fields: Partial<Machine>): Machine => ({
  id,
  host: '127.0.0.1',
  port,
  status: 'unknown',
  version: 'v1.0.0',
  labels: {},
  ...fields,
});

/** cart: one machine failing its health check for 90 s, one healthy for 3 min, one never seen. */
const cart = appWith('cart', '665f00000000000000000002', [
  machine('c1', 5001, {
    status: 'healthy',
    status_reason: 'health check passed',
    status_since: now - 3 * 60_000,
  }),
  machine('c2', 5002, {
    status: 'error',
    status_reason: 'GET /healthz failed 2 times in a row: connection refused',
    status_since: now - 90_000,
  }),
  machine('c3', 5003, { version: '' }),
]);
const zebra = appWith('zebra', '665f00000000000000000003', [
  machine('z1', 6001, { status: 'healthy' }),
]);
const alerting = appWith('alerting', '665f00000000000000000004', [
  machine('a1', 7001, { status: 'alert', status_reason: 'HighErrorRate firing' }),
]);
const unseen = appWith('unseen', '665f00000000000000000005', [machine('u1', 8001, {})]);
const empty = appWith('empty', '665f00000000000000000006', []);

const event = (machineId: string, status: Machine['status'], reason: string, at: number) =>
  ({
    id: `${cart.id}/${machineId}/${at}`,
    app_id: cart.id,
    machine_id: machineId,
    status,
    reason,
    version: 'v1.0.0',
    at,
  }) satisfies MachineEvent;

const cartEvents: MachineEvent[] = [
  event('c1', 'unknown', 'not checked yet', now - 20 * 60_000),
  event('c1', 'healthy', 'health check passed', now - 3 * 60_000),
  event('c2', 'healthy', 'health check passed', now - 10 * 60_000),
  event('c2', 'error', 'GET /healthz failed 2 times in a row: connection refused', now - 90_000),
  // Another application's event: never shown with cart's.
  { ...event('c2', 'alert', 'not cart', now - 1000), app_id: shopApp.id },
];

const allApps = on('GET', '/api/v1/applications', {
  status: 200,
  body: { items: [alerting, cart, empty, shopApp, unseen, zebra] },
});

describe('machine health in the CLI', () => {
  it.each([
    [now - 5_000, '5s ago'],
    [now - 59_999, '59s ago'],
    [now - 3 * 60_000 - 59_000, '3m ago'],
    [now - 5 * 3_600_000, '5h ago'],
    [now - 47 * 3_600_000, '47h ago'],
    [now - 3 * 86_400_000, '3d ago'],
    // A clock ahead of ours: it just happened.
    [now + 10_000, '0s ago'],
  ])('writes %i as %s', (at, text) => {
    expect(formatAgo(at, now)).toBe(text);
  });

  it('counts unknown machines and names the worst status', () => {
    expect([cart, alerting, unseen, zebra, empty].map((app) => worstStatus(app))).toEqual([
      'error',
      'alert',
      'unknown',
      'healthy',
      undefined,
    ]);
    expect(unknownCount(cart)).toBe(1);
    expect(
      [zebra, empty, unseen, shopApp, alerting, cart].sort(byHealth).map((app) => app.name),
    ).toEqual(['cart', 'alerting', 'unseen', 'empty', 'shop', 'zebra']);
  });

  it('app list puts unhealthy applications first, with their machines by status', async () => {
    const api = fakeApi([allApps]);
    const listed = await runWith(['app', 'list'], api.fetch);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAME +ID +VERSION +HEALTH +HEALTHY +ERROR +ALERT +UNKNOWN +PLATFORM +RELEASE$/,
    );
    expect(lines.slice(1).map((line) => line.split(/ +/)[0])).toEqual([
      'cart',
      'alerting',
      'unseen',
      'empty',
      'shop',
      'zebra',
    ]);
    expect(lines[1]).toMatch(
      new RegExp(`^cart +${cart.id} +v1.0.0 +error +1/3 +1 +0 +1 +local +-$`),
    );
    expect(lines[2]).toMatch(/^alerting +\S+ +v1.0.0 +alert +0\/1 +0 +1 +0 +local +-$/);
    expect(lines[3]).toMatch(/^unseen +\S+ +v1.0.0 +unknown +0\/1 +0 +0 +1 +local +-$/);
    expect(lines[4]).toMatch(/^empty +\S+ +v1.0.0 +- +0\/0 +0 +0 +0 +local +-$/);

    // --json is the api's answer, in the api's order.
    const raw = await runWith(['app', 'list', '--json'], api.fetch);
    expect(
      (JSON.parse(raw.stdout) as { items: Application[] }).items.map((app) => app.name),
    ).toEqual(['alerting', 'cart', 'empty', 'shop', 'unseen', 'zebra']);
  });

  it("app get shows each machine's status, why and since when, and the newest machine events", async () => {
    const api = fakeApi([allApps, machineEventsRoute(cart.id, cartEvents)]);
    const got = await runWith(['app', 'get', 'cart'], api.fetch);
    expect(got).toMatchObject({ code: 0, stderr: '' });
    const lines = got.stdout.trimEnd().split('\n');
    expect(got.stdout).toMatch(
      /^health +checked every 15s, error after 2 failed check\(s\) in a row$/m,
    );
    expect(got.stdout).toMatch(/^machines +3 \(1 healthy, 1 error, 0 alert, 1 unknown\)$/m);
    expect(got.stdout).toMatch(/^MACHINE +ADDRESS +STATUS +VERSION +SINCE +REASON$/m);
    expect(got.stdout).toMatch(
      /^c1 +127\.0\.0\.1:5001 +healthy +v1\.0\.0 +3m ago +health check passed$/m,
    );
    expect(got.stdout).toMatch(
      /^c2 +127\.0\.0\.1:5002 +error +v1\.0\.0 +1m ago +GET \/healthz failed 2 times in a row: connection refused$/m,
    );
    expect(got.stdout).toMatch(/^c3 +127\.0\.0\.1:5003 +unknown +- +- +-$/m);

    const history = lines.indexOf('machine events, newest first:');
    expect(history).toBeGreaterThan(0);
    expect(lines[history + 1]).toMatch(/^AT +MACHINE +STATUS +VERSION +REASON$/);
    expect(lines.slice(history + 2)).toEqual([
      expect.stringMatching(
        /^2025-01-02 03:02:35Z +c2 +error +v1\.0\.0 +GET \/healthz failed 2 times in a row: connection refused$/,
      ),
      expect.stringMatching(/^2025-01-02 03:01:05Z +c1 +healthy +v1\.0\.0 +health check passed$/),
      expect.stringMatching(/^2025-01-02 02:54:05Z +c2 +healthy +v1\.0\.0 +health check passed$/),
      expect.stringMatching(/^2025-01-02 02:44:05Z +c1 +unknown +v1\.0\.0 +not checked yet$/),
    ]);
    expect(got.stdout).not.toContain('not cart');
    expect(api.requests.map((request) => request.path)).toEqual([
      '/api/v1/applications',
      `/api/v1/applications/${cart.id}/machine-events?limit=10`,
    ]);
  });

  it('app get says when no machine event is recorded, and --json prints the application alone', async () => {
    const api = fakeApi([allApps, machineEventsRoute(zebra.id, [])]);
    const got = await runWith(['app', 'get', 'zebra'], api.fetch);
    expect(got.code).toBe(0);
    expect(got.stdout.trimEnd().split('\n').at(-1)).toBe('machine events: none recorded yet');

    const json = await runWith(['app', 'get', 'zebra', '--json'], api.fetch);
    expect(JSON.parse(json.stdout)).toEqual(zebra);
    expect(api.requests.filter((request) => request.path.includes('machine-events'))).toHaveLength(
      1,
    );
  });

  it('app get still shows the application when the api cannot give its machine events', async () => {
    const api = fakeApi([
      allApps,
      on('GET', /\/machine-events/, {
        status: 503,
        body: { error: { code: 'store_unavailable', message: 'MongoDB is not answering' } },
      }),
    ]);
    const got = await runWith(['app', 'get', 'cart'], api.fetch);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^c2 +127\.0\.0\.1:5002 +error /m);
    expect(got.stdout.trimEnd().split('\n').at(-1)).toBe(
      'machine events: cannot read them: MongoDB is not answering (503 store_unavailable)',
    );
  });
});
