import { describe, expect, it } from 'vitest';
import {
  FailureType,
  PacerConfig,
  RelguardError,
  defaultBatchPercentages,
  pendingNodeDeployments,
  planBatches,
} from '../../domain';

/** Machines m1..mN, in the order the application lists them. */
const machines = (count: number) => Array.from({ length: count }, (_, i) => ({ id: `m${i + 1}` }));

/** The pacer as the api stores it: parsed, so only configurations relguard accepts. */
const pacer = (input: Partial<PacerConfig> = {}) => PacerConfig.parse(input);

/** Machines deployed once each batch is done, gray included (batch 0). */
const cumulative = (plan: { batches: string[][] }) =>
  plan.batches.reduce<number[]>(
    (totals, batch) => [...totals, (totals.at(-1) ?? 1) + batch.length],
    [1],
  );

describe('planBatches', () => {
  it('without batch_size or batches: the first machine alone, then 25%, 50%, 100%', () => {
    expect(defaultBatchPercentages).toEqual([25, 50, 100]);
    expect(planBatches(machines(8), pacer())).toEqual({
      grayMachineId: 'm1',
      batches: [['m2'], ['m3', 'm4'], ['m5', 'm6', 'm7', 'm8']],
    });
  });

  it.each([
    // 25% of 4 is the gray machine itself: no batch of nothing.
    [4, [['m2'], ['m3', 'm4']]],
    [2, [['m2']]],
    [1, []],
  ])(
    'the default plan of %i machines skips percentages the gray already covers',
    (count, batches) => {
      expect(planBatches(machines(count), pacer())).toEqual({ grayMachineId: 'm1', batches });
    },
  );

  it.each([
    [1, 8, [['m2'], ['m3'], ['m4'], ['m5'], ['m6'], ['m7'], ['m8']]],
    [3, 8, [['m2', 'm3', 'm4'], ['m5', 'm6', 'm7'], ['m8']]],
    [7, 8, [['m2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']]],
    [10, 8, [['m2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']]],
  ])('batch_size %i over %i machines cuts the rest after the gray', (batchSize, count, batches) => {
    expect(planBatches(machines(count), pacer({ batch_size: batchSize }))).toEqual({
      grayMachineId: 'm1',
      batches,
    });
  });

  it('batch_size wins over the default percentages, whatever their count', () => {
    // 25% of 8 would be 2 machines after the gray; batch_size 2 gives 2 at every step.
    expect(planBatches(machines(8), pacer({ batch_size: 2 })).batches.map((b) => b.length)).toEqual(
      [2, 2, 2, 1],
    );
  });

  it.each([
    // Cumulative percentages of all machines, gray included, rounded up (Argo's setWeight).
    [8, [25, 50, 100], [1, 2, 4, 8]],
    [7, [25, 50, 100], [1, 2, 4, 7]],
    [10, [10, 30, 60, 100], [1, 3, 6, 10]],
    [3, [25, 50, 100], [1, 2, 3]],
    [5, [50, 100], [1, 3, 5]],
    [4, [100], [1, 4]],
    // 28% of 25 is 7 exactly: computed as (28 / 100) * 25 it came out 8.
    [25, [28, 100], [1, 7, 25]],
    [100, [7, 55, 100], [1, 7, 55, 100]],
    [50, [14, 100], [1, 7, 50]],
  ])('%i machines with batches %j reach %j machines', (count, batches, reached) => {
    expect(cumulative(planBatches(machines(count), pacer({ batches })))).toEqual(reached);
  });

  it('keeps the application order inside the batches', () => {
    expect(planBatches(machines(7), pacer({ batches: [25, 50, 100] })).batches).toEqual([
      ['m2'],
      ['m3', 'm4'],
      ['m5', 'm6', 'm7'],
    ]);
  });

  it('plans every machine exactly once, the gray first, for any count and accepted pacer', () => {
    const pacers = [
      pacer(),
      pacer({ batch_size: 3 }),
      pacer({ batches: [1, 100] }),
      pacer({ batches: [10, 20, 33.3, 66.6, 100] }),
      pacer({ batches: [99, 100] }),
    ];
    for (const config of pacers) {
      for (let count = 1; count <= 60; count++) {
        const all = machines(count);
        const gray = all[Math.floor(count / 2)]!.id;
        const plan = planBatches(all, config, gray);
        const order = [plan.grayMachineId, ...plan.batches.flat()];
        expect(order[0]).toBe(gray);
        expect([...order].sort()).toEqual(all.map((m) => m.id).sort());
        expect(plan.batches.every((batch) => batch.length > 0)).toBe(true);
      }
    }
  });

  it('refuses percentages that stop short of 100: the rest would never be deployed', () => {
    // planBatches plans only what the percentages reach; the schema keeps such a pacer out of
    // every application (the api and the store parse with it).
    const parsed = PacerConfig.safeParse({ batches: [25, 50] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({
        path: ['batches', 1],
        message: 'the last batch must be 100 (every machine)',
      }),
    ]);
  });

  it('leaves max_parallel to the workflow: it limits a batch at once, it does not cut it', () => {
    const limited = planBatches(machines(8), pacer({ batch_size: 4, max_parallel: 2 }));
    expect(limited.batches).toEqual([
      ['m2', 'm3', 'm4', 'm5'],
      ['m6', 'm7', 'm8'],
    ]);
    expect(planBatches(machines(8), pacer({ max_parallel: 1 }))).toEqual(
      planBatches(machines(8), pacer()),
    );
  });

  it('deploys a gray machine that is not the first one first, and not again in a batch', () => {
    expect(planBatches(machines(8), pacer({ batches: [25, 50, 100] }), 'm3')).toEqual({
      grayMachineId: 'm3',
      batches: [['m1'], ['m2', 'm4'], ['m5', 'm6', 'm7', 'm8']],
    });
    expect(planBatches(machines(5), pacer({ batch_size: 2 }), 'm5')).toEqual({
      grayMachineId: 'm5',
      batches: [
        ['m1', 'm2'],
        ['m3', 'm4'],
      ],
    });
  });

  it.each([
    [[], undefined, /no machines/],
    [machines(3), 'm9', /gray machine "m9" is not a machine of the application/],
  ])('refuses a plan it cannot make as BadConfig', (all, gray, message) => {
    let thrown: unknown;
    try {
      planBatches(all, pacer(), gray);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RelguardError);
    expect((thrown as RelguardError).type).toBe(FailureType.BadConfig);
    expect((thrown as RelguardError).message).toMatch(message);
  });
});

describe('pendingNodeDeployments', () => {
  it('lists every machine pending, the gray as batch 0, the rest by batch', () => {
    const plan = planBatches(machines(4), pacer({ batch_size: 2 }), 'm2');
    expect(pendingNodeDeployments(plan, 'v2')).toEqual([
      { machine_id: 'm2', batch: 0, status: 'pending', version: 'v2' },
      { machine_id: 'm1', batch: 1, status: 'pending', version: 'v2' },
      { machine_id: 'm3', batch: 1, status: 'pending', version: 'v2' },
      { machine_id: 'm4', batch: 2, status: 'pending', version: 'v2' },
    ]);
  });
});
