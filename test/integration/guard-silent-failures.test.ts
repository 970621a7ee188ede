import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  healthy,
  startOrdersApp,
  withFault,
  type OrdersApp,
  type OrdersVersion,
} from '../support/orders-service';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';

/**
 * Issue 14 on the real stack (a dev server, a real Prometheus scraping every second, the
 * orders service, not the mockserver): a new version that cannot be seen or dies is a failure,
 * not "no data", and a fault of the last batch is judged. Each scenario is an application of
 * its own, released at once beside the others; each must end `rolled_back` with the evidence.
 * The order of events and the final states are asserted, never how long anything took.
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

/** The deployment's guard evaluations, one line each, for a failure message. */
async function guardSummary(id: string): Promise<string> {
  const response = await stack.app.request(`/api/v1/deployments/${id}/guard`);
  const body = (await response.json()) as {
    items?: { at: number; instances: string[]; results: { rule: string; verdict: string }[] }[];
  };
  return (body.items ?? [])
    .map(
      (evaluation) =>
        `${new Date(evaluation.at).toISOString()} [${evaluation.instances.join(',')}] ` +
        evaluation.results.map((result) => `${result.rule}=${result.verdict}`).join(' '),
    )
    .join('\n');
}

describe.concurrent('the guard never lets a bad release through silently', () => {
  it('a gray machine that stops answering scrapes under load is target_down, not no_data: rolled back', async () => {
    const orders = await ordersApp(
      'orders-saturates',
      withFault({ kind: 'saturates', after_seconds: 4 }),
    );
    // no_data: ignore, the setting under which an unscrapable gray machine used to pass.
    await orders.configure(
      { gray_bake_seconds: 20, interval_seconds: 1 },
      { no_data: 'ignore', verify_seconds: 10 },
    );
    const id = await orders.release('v2.0.0');
    const { deployment, seen } = await orders.follow(id);

    expect(deployment.status, JSON.stringify(seen)).toBe('rolled_back');
    expect(seen.map((state) => state.status)).not.toContain('succeeded');
    expect(deployment.rollback?.requested_by).toBe('metric-guard');
    const down = deployment.rollback?.failing?.find((result) => result.rule === 'target_down');
    expect(down, JSON.stringify(deployment.rollback)).toBeDefined();
    expect(down?.verdict).toBe('fail');
    expect(down?.message).toContain('machine m1 (version v2.0.0)');
    // It names what it saw: the scrapes that stopped (or the health check, whichever the guard
    // saw first); Prometheus did record the gray machine's scrapes failing.
    expect(down?.message).toMatch(/Prometheus scrapes|health check/);
    expect(
      await prometheus.query(
        'min_over_time(up{app="orders-saturates",version="v2.0.0",instance="m1"}[10m])',
      ),
    ).toBe(0);
    // Only the gray machine ever ran v2.0.0; it runs v1.0.0 again.
    const nodes = new Map(deployment.node_deployments.map((node) => [node.machine_id, node]));
    expect(nodes.get('m1')?.status).toBe('rolled_back');
    expect(nodes.get('m2')?.started_at).toBeUndefined();
    expect(nodes.get('m3')?.started_at).toBeUndefined();
    expect(await orders.versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
  }, 300_000);

  it('a new version that dies after passing its health check is a breach naming the machine: rolled back', async () => {
    const orders = await ordersApp('orders-dies', withFault({ kind: 'dies', after_seconds: 3 }));
    await orders.configure(
      { gray_bake_seconds: 20, interval_seconds: 1 },
      { no_data: 'ignore', verify_seconds: 10 },
    );
    const id = await orders.release('v2.0.0');
    const { deployment, seen } = await orders.follow(id);

    expect(deployment.status, JSON.stringify(seen)).toBe('rolled_back');
    expect(seen.map((state) => state.status)).not.toContain('succeeded');
    // m1 deployed (its health check passed) before it died.
    const m1 = deployment.node_deployments.find((node) => node.machine_id === 'm1');
    expect(m1?.started_at).toBeDefined();
    expect(m1?.status).toBe('rolled_back');
    const named = deployment.rollback?.failing?.find(
      (result) =>
        result.verdict === 'fail' &&
        (result.rule === 'target_down' || /health/i.test(result.rule)) &&
        result.message.includes('machine m1 (version v2.0.0)'),
    );
    expect(named, JSON.stringify(deployment.rollback)).toBeDefined();
    expect(await orders.versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
  }, 300_000);

  it('a fault only in the last batch (v2.0.0 fails on m3 alone) rolls every machine back', async () => {
    const orders = await ordersApp(
      'orders-last-batch',
      withFault({ kind: 'errors', after_seconds: 0, error_ratio: 1, machines: ['m3'] }),
    );
    await orders.configure(
      { gray_bake_seconds: 2, interval_seconds: 2 },
      { no_data: 'ignore', verify_seconds: 60 },
    );
    const id = await orders.release('v2.0.0');
    const { deployment, seen } = await orders.follow(id);
    // Should it pass, the guard's evaluations say why: verdict per rule, instant and machines.
    const evaluations = deployment.status === 'rolled_back' ? '' : await guardSummary(id);
    expect(deployment.status, `${JSON.stringify(seen)}\n${evaluations}`).toBe('rolled_back');
    expect(seen.map((state) => state.status)).not.toContain('succeeded');
    // Every machine, the last batch's included, had v2.0.0 and was rolled back.
    expect(
      deployment.node_deployments.map((node) => [node.machine_id, node.batch, node.status]),
    ).toEqual([
      ['m1', 0, 'rolled_back'],
      ['m2', 1, 'rolled_back'],
      ['m3', 2, 'rolled_back'],
    ]);
    const failing = deployment.rollback?.failing?.find(
      (result) => result.rule === 'error rate above 10%',
    );
    expect(failing?.verdict, JSON.stringify(deployment.rollback)).toBe('fail');
    expect(failing?.value).toBeGreaterThan(0.1);
    expect(await orders.versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0']);
  }, 300_000);
});
