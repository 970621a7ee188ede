import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardEvaluationRepository } from '../../activities/db';
import type { GuardEvaluationRecord } from '../../domain';
import { startTestStore, type TestStore } from '../support/mongo';

/** The guard_evaluations collection on FerretDB: idempotent writes, order, and the bound. */
let testStore: TestStore;

beforeAll(async () => {
  testStore = await startTestStore();
});
afterAll(async () => {
  await testStore?.close();
});

function evaluation(
  deploymentId: string,
  at: number,
  overrides: Partial<GuardEvaluationRecord> = {},
): GuardEvaluationRecord {
  return {
    deployment_id: deploymentId,
    at,
    app: 'shop',
    version: 'v2',
    baseline_version: 'v1',
    instances: ['m1'],
    verdict: 'pass',
    results: [
      {
        rule: 'error rate above 5%',
        metric: 'error_rate',
        promql: 'sum(rate(x[1m]))',
        value: 0.01,
        operator: '>',
        threshold: 0.05,
        verdict: 'pass',
        message: 'error rate above 5%: error rate 0.01 <= 0.05',
      },
    ],
    ...overrides,
  };
}

describe('GuardEvaluationRepository', () => {
  it('has its index on deployment and time', async () => {
    const collection = testStore.store.db.collection('guard_evaluations');
    expect(await collection.indexExists('deployment_at')).toBe(true);
  });

  it('writes an evaluation of the same deployment and instant once, the last write winning', async () => {
    const repository = testStore.store.guardEvaluations;
    await repository.record(evaluation('dep-same', 1_000));
    await repository.record(evaluation('dep-same', 1_000, { verdict: 'fail' }));
    await repository.record(evaluation('dep-same', 2_000));
    const items = await repository.listByDeployment('dep-same');
    expect(items.map((item) => [item.at, item.verdict])).toEqual([
      [1_000, 'fail'],
      [2_000, 'pass'],
    ]);
    expect(items[1]).toEqual(evaluation('dep-same', 2_000));
  });

  it('lists the newest `limit` of one deployment, oldest first', async () => {
    const repository = testStore.store.guardEvaluations;
    for (const at of [30, 10, 20, 40]) await repository.record(evaluation('dep-order', at));
    await repository.record(evaluation('dep-other', 25));
    expect((await repository.listByDeployment('dep-order')).map((item) => item.at)).toEqual([
      10, 20, 30, 40,
    ]);
    expect((await repository.listByDeployment('dep-order', 2)).map((item) => item.at)).toEqual([
      30, 40,
    ]);
    expect(await repository.listByDeployment('dep-none')).toEqual([]);
  });

  it('keeps only the newest evaluations of a deployment, and leaves the others alone', async () => {
    const bounded = new GuardEvaluationRepository(testStore.store.db, 5);
    await bounded.record(evaluation('dep-neighbour', 1));
    for (let at = 1; at <= 8; at++) await bounded.record(evaluation('dep-bounded', at * 100));
    const kept = await testStore.store.db
      .collection('guard_evaluations')
      .find({ deployment_id: 'dep-bounded' })
      .sort({ at: 1 })
      .toArray();
    expect(kept.map((doc) => doc.at as number)).toEqual([400, 500, 600, 700, 800]);
    expect(await bounded.listByDeployment('dep-neighbour')).toHaveLength(1);
  });
});
