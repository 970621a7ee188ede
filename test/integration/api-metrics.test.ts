import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from '../support/api-token';
import type { DeploymentStatus } from '../../domain';
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
  const { deployments } = testStore.store;
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

  it('gives the same numbers on every scrape', async () => {
    const first = await (await app.request('/metrics')).text();
    const second = await (await app.request('/metrics')).text();
    expect(second).toBe(first);
  });
});
