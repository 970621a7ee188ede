import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardEvaluationRecord } from '../../domain';
import { tokenFor } from '../support/api-token';
import {
  healthy,
  startOrdersApp,
  withFault,
  type DeploymentView,
  type OrdersApp,
  type OrdersVersion,
} from '../support/orders-service';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';

/**
 * Issue 14 on the real stack, second half: the verification window after the last batch (a
 * late fault rolls every machine back; a person may end it early), the gate that keeps a fast
 * pacer from promoting what the guard has not judged, and a healthy release over a noisy
 * baseline that must pass. The orders service, a real Prometheus scraping every second, the
 * dev server; each scenario an application of its own, released beside the others. Order,
 * counts and states are asserted, never durations.
 */
let stack: ReleaseStack;
let prometheus: TestPrometheus;
const apps: OrdersApp[] = [];

async function ordersApp(name: string, v2: OrdersVersion['behaviour']): Promise<OrdersApp> {
  const orders = await startOrdersApp(stack, prometheus, name, [
    { tag: 'v1.0.0', behaviour: healthy },
    { tag: 'v2.0.0', behaviour: v2 },
  ]);
  apps.push(orders);
  await orders.install();
  return orders;
}

async function evaluations(orders: OrdersApp, id: string): Promise<GuardEvaluationRecord[]> {
  const { status, body } = await orders.calls.api<{ items: GuardEvaluationRecord[] }>(
    'GET',
    `/api/v1/deployments/${id}/guard?limit=2000`,
  );
  expect(status).toBe(200);
  return body.items;
}

/** The first instant (epoch ms, 250 ms steps) in [from, to] at which `promql` has a value. */
async function firstValueAt(promql: string, from: number, to: number): Promise<number | undefined> {
  const url = new URL('/api/v1/query_range', prometheus.url);
  url.search = new URLSearchParams({
    query: promql,
    start: String(from / 1000),
    end: String(to / 1000),
    step: '0.25',
  }).toString();
  const body = (await (await fetch(url)).json()) as {
    data: { result: { values: [number, string][] }[] };
  };
  const times = body.data.result.flatMap((series) =>
    series.values.filter(([, value]) => Number.isFinite(Number(value))).map(([at]) => at * 1000),
  );
  return times.length === 0 ? undefined : Math.min(...times);
}

const conclusive = (evaluation: GuardEvaluationRecord) =>
  evaluation.verdict === 'pass' || evaluation.verdict === 'fail';

beforeAll(async () => {
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
  stack = await startReleaseStack({
    prometheusUrl: prometheus.url,
    targetsDir: prometheus.targetsDir,
    scrapeIntervalSeconds: 1,
  });
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(apps.map((orders) => orders.stop()));
  await stack?.stopMachines();
  await stack?.stop();
  await prometheus?.stop();
});

describe.concurrent('the last batch is watched, and nothing is promoted unjudged', () => {
  it('a fault that starts after the last batch, inside the verification window, rolls every machine back', async () => {
    // v2.0.0 turns bad on m3 (the last batch) 12 s after it starts: after the rollout ended.
    const orders = await ordersApp(
      'orders-late-fault',
      withFault({ kind: 'errors', after_seconds: 12, error_ratio: 1, machines: ['m3'] }),
    );
    await orders.configure(
      { gray_bake_seconds: 2, interval_seconds: 2 },
      { no_data: 'ignore', verify_seconds: 120 },
    );
    const id = await orders.release('v2.0.0');
    const { deployment, seen } = await orders.follow(id);

    expect(deployment.status, JSON.stringify(seen)).toBe('rolled_back');
    // Verifying all machines was shown, and the rollback came out of it.
    const verifying = seen.findIndex(
      (state) => state.status === 'verifying' && state.phase === 'verifying all machines',
    );
    expect(verifying, JSON.stringify(seen)).toBeGreaterThanOrEqual(0);
    // The phase may say so a moment before the status does.
    const rollingBack = seen.findIndex(
      (state) =>
        state.status === 'rolling_back' ||
        state.status === 'rolled_back' ||
        /^rolling back/.test(state.phase ?? ''),
    );
    expect(rollingBack).toBeGreaterThan(verifying);
    expect(seen[rollingBack - 1]?.status, JSON.stringify(seen)).toBe('verifying');
    expect(seen[rollingBack - 1]?.phase).toMatch(/^verifying all machines/);
    expect(deployment.node_deployments.map((node) => node.status)).toEqual([
      'rolled_back',
      'rolled_back',
      'rolled_back',
    ]);
    expect(
      deployment.rollback?.failing?.find((result) => result.rule === 'error rate above 10%')
        ?.verdict,
      JSON.stringify(deployment.rollback),
    ).toBe('fail');
    expect(await orders.versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
  }, 300_000);

  it('a pacer faster than the guard waits for judged evaluations before each batch', async () => {
    const orders = await ordersApp('orders-fast-pacer', healthy);
    await orders.configure(
      { gray_bake_seconds: 0, interval_seconds: 0 },
      { no_data: 'ignore', verify_seconds: 5 },
    );
    const id = await orders.release('v2.0.0');
    const { deployment, seen } = await orders.follow(id);
    expect(deployment.status, JSON.stringify({ seen, rollback: deployment.rollback })).toBe(
      'succeeded',
    );
    expect(await orders.versions()).toEqual(['v2.0.0', 'v2.0.0', 'v2.0.0']);

    // min_judged_evaluations defaults to consecutive_breaches (2).
    const required = 2;
    const items = await evaluations(orders, id);
    const startOf = (machine: string) =>
      deployment.node_deployments.find((node) => node.machine_id === machine)?.started_at;
    const m1 = startOf('m1');
    const m2 = startOf('m2');
    const m3 = startOf('m3');
    expect(m1).toBeDefined();
    expect(m2).toBeGreaterThan(m1!);
    expect(m3).toBeGreaterThan(m2!);
    const summary = JSON.stringify(
      items.map(({ at, verdict, instances }) => ({ at, verdict, instances })),
    );
    // An evaluation judged a machine when its queries could see it: it was listed, and
    // Prometheus had its own v2.0.0 orders rate by then (the queries sum over the machines, so
    // a machine listed before its data exists passes on the others' data alone).
    const judged = async (machine: string, before: number) => {
      const visible = await firstValueAt(
        `rate(orders_handled_total{app="orders-fast-pacer",version="v2.0.0",instance="${machine}",outcome="ok"}[5s])`,
        startOf(machine)!,
        before + 10_000,
      );
      const count = items.filter(
        (evaluation) =>
          conclusive(evaluation) &&
          evaluation.instances.includes(machine) &&
          visible !== undefined &&
          evaluation.at >= visible &&
          evaluation.at < before,
      ).length;
      return { machine, visible, before, count };
    };
    // Batch 1 (m2) started only after the guard had judged the gray machine on its data; batch
    // 2 (m3) only after it had judged m2 (as well as m1) on its data.
    const gray = await judged('m1', m2!);
    expect(gray.count, `${JSON.stringify(gray)} ${summary}`).toBeGreaterThanOrEqual(required);
    const batch1 = await judged('m2', m3!);
    expect(batch1.count, `${JSON.stringify(batch1)} ${summary}`).toBeGreaterThanOrEqual(required);
  }, 300_000);

  it('never cries wolf: a healthy v2.0.0 over the noisy baseline succeeds under the same rules', async () => {
    const orders = await ordersApp('orders-healthy', healthy);
    await orders.configure(
      { gray_bake_seconds: 5, interval_seconds: 3 },
      { no_data: 'ignore', verify_seconds: 15 },
    );
    const id = await orders.release('v2.0.0');
    const { deployment, seen } = await orders.follow(id);
    expect(deployment.status, `${JSON.stringify(seen)} ${deployment.reason}`).toBe('succeeded');
    expect(deployment.rollback).toBeUndefined();
    expect(await orders.versions()).toEqual(['v2.0.0', 'v2.0.0', 'v2.0.0']);
    // Not a pass by default: the guard judged all three machines, and passed them.
    const items = await evaluations(orders, id);
    const allThree = items.filter(
      (evaluation) =>
        evaluation.verdict === 'pass' &&
        ['m1', 'm2', 'm3'].every((machine) => evaluation.instances.includes(machine)),
    );
    expect(allThree.length).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('promote ends the verification window early, recorded with who did it', async () => {
    const orders = await ordersApp('orders-promote', healthy);
    await orders.configure(
      { gray_bake_seconds: 0, interval_seconds: 0 },
      // Far longer than this test's timeout: only the promote can end it in time.
      { no_data: 'ignore', verify_seconds: 3600 },
    );
    const id = await orders.release('v2.0.0');
    const inWindow = (deployment: DeploymentView) =>
      deployment.status === 'verifying' && deployment.progress?.phase === 'verifying all machines';
    const waiting = await orders.follow(id, { until: inWindow });
    expect(inWindow(waiting.deployment), JSON.stringify(waiting.seen)).toBe(true);
    expect(waiting.deployment.progress?.promotable).toBe(true);

    // A person with a deployer token of their own, through the api served for real.
    const token = await tokenFor(stack.testStore.store, 'deployer', 'oncall-alice');
    const promoted = await fetch(`${stack.apiUrl}/api/v1/deployments/${id}/promote`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'looks good' }),
    });
    expect(promoted.status, await promoted.clone().text()).toBe(202);

    const { deployment, seen } = await orders.follow(id);
    expect(deployment.status, JSON.stringify(seen)).toBe('succeeded');
    expect(deployment.actions).toContainEqual(
      expect.objectContaining({ action: 'promote', by: 'oncall-alice' }),
    );
    expect(await orders.versions()).toEqual(['v2.0.0', 'v2.0.0', 'v2.0.0']);
  }, 300_000);
});
