import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from '../support/api-token';
import { ApplicationInput, type DeploymentStatus } from '../../domain';
import { startTestStore, type TestStore } from '../support/mongo';
import { storeOnlyApp } from '../support/releases';

let testStore: TestStore;
let app: TestApi;

beforeAll(async () => {
  testStore = await startTestStore();
  app = await storeOnlyApp(testStore.store);
  const deployment = (app_name: string, status: DeploymentStatus) => ({
    app_name,
    app_id: app_name,
    status,
    package_version: 'v2',
    gray_machine_id: 'm1',
    platform: 'local' as const,
    node_deployments: [],
    previous_version: 'v1',
  });
  const { deployments, applications } = testStore.store;
  // ledger: l1 healthy, l2 in error, l3 never seen (unknown); orders: o1 alerting.
  const ledger = await applications.create(
    ApplicationInput.parse({
      name: 'ledger',
      deploy_path: '/srv/ledger',
      start_cmd: 'node main.js',
      machines: ['l1', 'l2', 'l3'].map((id, i) => ({ id, host: '127.0.0.1', port: 4001 + i })),
    }),
  );
  await applications.updateMachine(ledger.id, 'l1', {
    status: 'healthy',
    status_reason: 'health check passed',
    status_since: 1_000,
  });
  await applications.updateMachine(ledger.id, 'l2', {
    status: 'error',
    status_reason: 'GET /healthz failed 2 times in a row',
    status_since: 2_000,
  });
  const orders = await applications.create(
    ApplicationInput.parse({
      name: 'orders',
      deploy_path: '/srv/orders',
      start_cmd: 'node main.js',
      machines: [{ id: 'o1', host: '127.0.0.1', port: 5001 }],
    }),
  );
  await applications.updateMachine(orders.id, 'o1', {
    status: 'alert',
    status_reason: 'HighErrorRate firing',
    status_since: 3_000,
  });
  await deployments.create(deployment('shop', 'succeeded'), 1_000);
  await deployments.create(deployment('shop', 'succeeded'), 2_000);
  await deployments.create(deployment('cart', 'deploying'), 3_000);
  await deployments.create(
    {
      ...deployment('shop', 'rolled_back'),
      rollback: {
        reason: 'metric guard: error rate 0.31 > 0.1',
        requested_by: 'metric-guard',
        first_breach_at: 8_000,
        detected_at: 10_000,
        requested_at: 10_500,
      },
    },
    13_500,
  );
});
afterAll(async () => {
  await testStore?.close();
});

describe('GET /metrics', () => {
  it('reports releases by outcome and the rollbacks with their timings, from MongoDB', async () => {
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('relguard_releases{app="shop",status="succeeded"} 2');
    expect(text).toContain('relguard_releases{app="shop",status="rolled_back"} 1');
    expect(text).toContain('relguard_releases{app="cart",status="deploying"} 1');
    expect(text).toContain('relguard_rollbacks{app="shop",requested_by="metric-guard"} 1');
    // 3 s from the request to rolled back; 2.5 s from the first breach to the request.
    expect(text).toContain('relguard_rollback_duration_seconds_bucket{le="5"} 1');
    expect(text).toContain('relguard_rollback_duration_seconds_bucket{le="2"} 0');
    expect(text).toContain('relguard_breach_to_rollback_seconds_sum 2.5');
  });

  it("reports every machine's status as 1 and its three other statuses as 0, and each application's machines by status", async () => {
    const text = await (await app.request('/metrics')).text();
    const machineLines = text
      .split('\n')
      .filter((line) => line.startsWith('relguard_machine_status{'));
    const expected = {
      ledger: { l1: 'healthy', l2: 'error', l3: 'unknown' },
      orders: { o1: 'alert' },
    } as const;
    const wanted = Object.entries(expected).flatMap(([appName, machines]) =>
      Object.entries(machines).flatMap(([machine, current]) =>
        ['healthy', 'error', 'alert', 'unknown'].map(
          (status) =>
            `relguard_machine_status{app="${appName}",machine="${machine}",status="${status}"} ${status === current ? 1 : 0}`,
        ),
      ),
    );
    expect(machineLines.sort()).toEqual(wanted.sort());
    // What a dashboard alerts on: exactly the machine in error.
    expect(machineLines.filter((line) => line.includes('status="error"} 1'))).toEqual([
      'relguard_machine_status{app="ledger",machine="l2",status="error"} 1',
    ]);
    expect(text).toContain('# TYPE relguard_machine_status gauge');

    for (const [appName, counts] of [
      ['ledger', { healthy: 1, error: 1, alert: 0, unknown: 1 }],
      ['orders', { healthy: 0, error: 0, alert: 1, unknown: 0 }],
    ] as const) {
      for (const [status, count] of Object.entries(counts)) {
        expect(text).toContain(
          `relguard_app_machines{app="${appName}",status="${status}"} ${count}`,
        );
      }
    }
  });

  it('follows a machine out of error on the next scrape', async () => {
    const ledger = (await testStore.store.applications.list()).find((a) => a.name === 'ledger')!;
    await testStore.store.applications.updateMachine(ledger.id, 'l2', {
      status: 'healthy',
      status_reason: 'health check passed',
      status_since: 4_000,
    });
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('relguard_machine_status{app="ledger",machine="l2",status="error"} 0');
    expect(text).toContain('relguard_machine_status{app="ledger",machine="l2",status="healthy"} 1');
    expect(text).toContain('relguard_app_machines{app="ledger",status="error"} 0');
    expect(text).toContain('relguard_app_machines{app="ledger",status="healthy"} 2');
  });

  it('gives the same numbers on every scrape', async () => {
    const first = await (await app.request('/metrics')).text();
    const second = await (await app.request('/metrics')).text();
    expect(second).toBe(first);
  });
});
