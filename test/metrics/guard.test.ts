import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardActivities, type GuardActivities } from '../../activities/guard';
import { openStore } from '../../activities/db';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { createPlatform } from '../../activities/platform';
import { targetGroups } from '../../activities/prometheus-targets';
import { ApplicationInput, type PolicyEvaluation, type RuleResult } from '../../domain';
import { runLoad, type LoadSummary } from '../../mockserver/load-generator';
import type { MockServer } from '../../mockserver/server';
import { call, pollUntil, startServer } from '../mockserver/helpers';
import { freePort } from '../support/free-port';
import { startTestStore, type TestStore } from '../support/mongo';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';

/** The guard's machines are local processes, scraped every second. */
const guardTestDeps = {
  platforms: {
    local: createPlatform('local', {
      releasesKept: 2,
      logger: createLogger('guard-test', 'silent'),
    }),
    ssh: createPlatform('ssh', { releasesKept: 2, logger: createLogger('guard-test', 'silent') }),
  },
  scrapeIntervalSeconds: 1,
};

/**
 * The guard end to end at its edges: a real Prometheus scraping two real mockservers of the
 * app "shop", m1 on the new version v2 and m2 still on v1, and a real (FerretDB) store.
 * Windows of 5 s over a 1 s scrape let a fault show within seconds.
 */

const windowed = (selector: string) => `sum(rate(http_requests_total{${selector}}[5s]))`;
const red = {
  rate: windowed('app="{{app}}",version="{{version}}"'),
  errors: windowed('app="{{app}}",version="{{version}}",status=~"5.."'),
  duration:
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[5s])))',
};

let prometheus: TestPrometheus;
let testStore: TestStore;
let newServer: MockServer;
let oldServer: MockServer;
let guard: GuardActivities;
let deploymentId: string;
const stopLoad = new AbortController();
let load: Promise<LoadSummary> | undefined;

beforeAll(async () => {
  [prometheus, testStore, newServer, oldServer] = await Promise.all([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startTestStore(),
    startServer({ app: 'shop', version: 'v2', instance: 'm1' }),
    startServer({ app: 'shop', version: 'v1', instance: 'm2' }),
  ]);
  const { store } = testStore;
  const app = await store.applications.create(
    ApplicationInput.parse({
      name: 'shop',
      deploy_path: '/srv/shop',
      start_cmd: 'node main.js',
      machines: [
        { id: 'm1', host: newServer.host, port: newServer.port, version: 'v2' },
        { id: 'm2', host: oldServer.host, port: oldServer.port, version: 'v1' },
      ],
      red_metrics_config: red,
      rollback_policy: {
        rules: [
          {
            name: 'error rate above 20%',
            metric: 'error_rate',
            threshold: 0.2,
            min_request_rate: 1,
          },
          {
            name: 'error rate 3x the old version',
            metric: 'error_rate',
            threshold: 3,
            relative_to_baseline: true,
            floor: 0.1,
            min_request_rate: 1,
          },
          // Judged without traffic: shows the data flows even while the others have none.
          { name: 'memory above 4 GiB', metric: 'memory', threshold: 4 * 1024 ** 3 },
        ],
      },
    }),
  );
  // Labelled app, version and instance as relguard labels them: those are what the guard selects.
  await prometheus.addTargets('shop', targetGroups(app));
  const deployment = await store.deployments.create({
    app_name: 'shop',
    app_id: app.id,
    status: 'deploying',
    package_version: 'v2',
    gray_machine_id: 'm1',
    platform: 'local',
    previous_version: 'v1',
    node_deployments: [
      { machine_id: 'm1', batch: 0, status: 'deployed', version: 'v2' },
      { machine_id: 'm2', batch: 1, status: 'pending', version: 'v2' },
    ],
  });
  deploymentId = deployment.id;
  guard = createGuardActivities({
    store,
    metrics: new PrometheusClient({ url: prometheus.url, timeoutMs: 5_000 }),
    ...guardTestDeps,
    logger: createLogger('guard-test', 'silent'),
  });

  // Both machines scraped, before any request: the memory series exist, no request series yet.
  await pollUntil(
    async () =>
      (await prometheus.query('count(process_resident_memory_bytes{app="shop"})')) === 2
        ? true
        : undefined,
    { timeoutMs: 20_000, intervalMs: 250 },
  );
});

afterAll(async () => {
  stopLoad.abort();
  await load;
  await Promise.all([newServer?.close(), oldServer?.close()]);
  await Promise.all([prometheus?.stop(), testStore?.close()]);
});

const evaluateRelease = (request: { deploymentId: string }): Promise<PolicyEvaluation> =>
  guard.evaluateRelease(request);

const byRule = (evaluation: PolicyEvaluation): Record<string, RuleResult> =>
  Object.fromEntries(evaluation.results.map((result) => [result.rule, result]));

/** Evaluates until `done` holds, so the test waits for Prometheus' windows, not a fixed time. */
function evaluateUntil(done: (evaluation: PolicyEvaluation) => boolean): Promise<PolicyEvaluation> {
  return pollUntil(
    async () => {
      const evaluation = await evaluateRelease({ deploymentId });
      return done(evaluation) ? evaluation : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 500 },
  );
}

describe('evaluateRelease against Prometheus and mockservers', () => {
  it('finds no data for the rules with min_request_rate while nothing is served', async () => {
    const evaluation = await evaluateRelease({ deploymentId });
    expect(evaluation).toMatchObject({
      app: 'shop',
      version: 'v2',
      baseline_version: 'v1',
      instances: ['m1'],
      verdict: 'no_data',
    });
    const rules = byRule(evaluation);
    expect(rules['error rate above 20%']).toMatchObject({
      verdict: 'no_data',
      message: 'error rate above 20%: no data: no traffic, min_request_rate 1',
    });
    expect(rules['error rate 3x the old version']?.verdict).toBe('no_data');
    expect(rules['memory above 4 GiB']).toMatchObject({ verdict: 'pass' });
    expect(rules['memory above 4 GiB']?.value).toBeGreaterThan(10 * 1024 ** 2);
  });

  it('passes while both versions serve without errors', async () => {
    load = runLoad({ targets: [newServer.url, oldServer.url], rps: 40, signal: stopLoad.signal });
    // The relative rule passes on its floor until the old version has been scraped too: wait
    // for the evaluation that measured both.
    const evaluation = await evaluateUntil(
      (candidate) =>
        candidate.verdict === 'pass' &&
        byRule(candidate)['error rate 3x the old version']?.baseline !== undefined,
    );
    const rules = byRule(evaluation);
    expect(rules['error rate above 20%']).toMatchObject({ value: 0, verdict: 'pass' });
    expect(rules['error rate 3x the old version']).toMatchObject({
      value: 0,
      baseline: 0,
      verdict: 'pass',
    });
    expect(rules['error rate 3x the old version']?.baseline_promql).toContain('version="v1"');
  });

  it('fails the absolute and the relative rule once the new version answers half with 500', async () => {
    const started = await call(`${newServer.url}/faults`, {
      method: 'POST',
      body: { type: 'error', params: { rate: 0.5 }, duration: '60s' },
    });
    expect(started.status).toBe(201);

    const evaluation = await evaluateUntil(
      (candidate) =>
        candidate.results.filter(
          (result) => result.metric === 'error_rate' && result.verdict === 'fail',
        ).length === 2,
    );
    expect(evaluation.verdict).toBe('fail');
    const absolute = byRule(evaluation)['error rate above 20%'];
    const relative = byRule(evaluation)['error rate 3x the old version'];
    expect(absolute?.value).toBeGreaterThan(0.2);
    expect(absolute?.value).toBeLessThan(0.75);
    expect(absolute?.message).toMatch(/^error rate above 20%: error rate 0\.\d+ > 0\.2$/);
    // The old version keeps serving without errors: its baseline is 0, and floor decides.
    expect(relative).toMatchObject({ baseline: 0, verdict: 'fail' });
    expect(relative?.message).toMatch(/> 3 x baseline 0 \(and > floor 0\.1\)$/);
  });
});

describe('evaluateRelease records its evaluations', () => {
  it('writes each evaluation it returns to guard_evaluations, in order', async () => {
    const { guardEvaluations } = testStore.store;
    const before = await guardEvaluations.listByDeployment(deploymentId);
    const first = await evaluateRelease({ deploymentId });
    const second = await evaluateRelease({ deploymentId });
    const after = await guardEvaluations.listByDeployment(deploymentId);
    expect(after).toHaveLength(before.length + 2);
    expect(after.slice(-2)).toEqual([
      { deployment_id: deploymentId, ...first },
      { deployment_id: deploymentId, ...second },
    ]);
    expect(second.results.map((result) => result.rule)).toEqual([
      'target_down',
      'error rate above 20%',
      'error rate 3x the old version',
      'memory above 4 GiB',
    ]);
  });

  it('still returns the evaluation when it cannot be recorded', async () => {
    // A MongoDB that is not there: the driver's own failure, after its short timeout.
    const unreachable = openStore({
      uri: `mongodb://127.0.0.1:${await freePort()}/`,
      dbName: 'nowhere',
      timeoutMs: 300,
    });
    try {
      const guardWithoutRecords = createGuardActivities({
        store: {
          deployments: testStore.store.deployments,
          applications: testStore.store.applications,
          guardEvaluations: unreachable.guardEvaluations,
        },
        metrics: new PrometheusClient({ url: prometheus.url, timeoutMs: 5_000 }),
        ...guardTestDeps,
        logger: createLogger('guard-test', 'silent'),
      });
      const before = await testStore.store.guardEvaluations.listByDeployment(deploymentId);
      const evaluation = await guardWithoutRecords.evaluateRelease({ deploymentId });
      expect(evaluation.results).toHaveLength(4);
      expect(await testStore.store.guardEvaluations.listByDeployment(deploymentId)).toHaveLength(
        before.length,
      );
    } finally {
      await unreachable.close();
    }
  });
});

describe('evaluateRelease when it cannot measure', () => {
  async function releaseOf(
    name: string,
    rules: unknown[],
    node: { status: 'pending' | 'deployed' },
  ): Promise<string> {
    const { store } = testStore;
    const app = await store.applications.create(
      ApplicationInput.parse({
        name,
        deploy_path: `/srv/${name}`,
        start_cmd: 'node main.js',
        // A live machine: these evaluations are about the rules, not about a machine down.
        machines: [{ id: 'm1', host: newServer.host, port: newServer.port }],
        red_metrics_config: red,
        rollback_policy: { rules },
      }),
    );
    const deployment = await store.deployments.create({
      app_name: name,
      app_id: app.id,
      status: 'deploying',
      package_version: 'v2',
      gray_machine_id: 'm1',
      platform: 'local',
      previous_version: 'v1',
      node_deployments: [{ machine_id: 'm1', batch: 0, ...node, version: 'v2' }],
    });
    return deployment.id;
  }

  it("turns Prometheus' refusal and a broken template into error verdicts", async () => {
    const id = await releaseOf(
      'broken-rules',
      [
        { name: 'bad promql', metric: 'custom', promql: 'sum(rate(', threshold: 1 },
        { name: 'typo', metric: 'custom', promql: 'up{app="{{ap}}"}', threshold: 1 },
        { name: 'many series', metric: 'custom', promql: 'up', threshold: 1 },
      ],
      { status: 'deployed' },
    );
    const evaluation = await evaluateRelease({ deploymentId: id });
    expect(evaluation.verdict).toBe('error');
    const rules = byRule(evaluation);
    expect(rules['bad promql']).toMatchObject({ verdict: 'error', promql: 'sum(rate(' });
    expect(rules['bad promql']?.message).toMatch(/^bad promql: error: bad_data: .*parse error/);
    expect(rules['typo']).toMatchObject({ verdict: 'error', promql: 'up{app="{{ap}}"}' });
    expect(rules['typo']?.message).toContain('unknown placeholder {{ap}}');
    expect(rules['many series']?.message).toMatch(/up returned 2 series/);
  });

  it('reports an unreachable Prometheus as an error on every rule, without throwing', async () => {
    const port = await freePort();
    const offline = createGuardActivities({
      store: testStore.store,
      metrics: new PrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 1_000 }),
      ...guardTestDeps,
      logger: createLogger('guard-test', 'silent'),
    });
    const evaluation = await offline.evaluateRelease({ deploymentId });
    expect(evaluation.verdict).toBe('error');
    // The three rules and target_down, which cannot read the targets either.
    expect(evaluation.results).toHaveLength(4);
    for (const result of evaluation.results) {
      expect(result.message).toContain('error: network: cannot reach');
    }
  });

  it('has nothing to measure before a machine runs the new version', async () => {
    const id = await releaseOf(
      'not-started',
      [{ name: 'e', metric: 'error_rate', threshold: 0.1 }],
      {
        status: 'pending',
      },
    );
    expect(await evaluateRelease({ deploymentId: id })).toMatchObject({
      instances: [],
      results: [],
      verdict: 'pass',
    });
  });

  it('throws a non-retryable NotFound for a deployment that does not exist', async () => {
    const error = await evaluateRelease({ deploymentId: 'no-such-deployment' }).catch(
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'NotFound', nonRetryable: true });
  });
});

describe('target_down against Prometheus and a machine that stops', () => {
  it('names the new-version machine that stops answering scrapes and its health check', async () => {
    const { store } = testStore;
    // A machine of its own, on the new version, whose process is about to go away; the old
    // version's machine keeps answering (Prometheus can scrape: the machine is at fault).
    const doomed = await startServer({ app: 'cart', version: 'v2', instance: 'c1' });
    try {
      const app = await store.applications.create(
        ApplicationInput.parse({
          name: 'cart',
          deploy_path: '/srv/cart',
          start_cmd: 'node main.js',
          machines: [
            { id: 'c1', host: doomed.host, port: doomed.port, version: 'v2' },
            { id: 'c2', host: oldServer.host, port: oldServer.port, version: 'v1' },
          ],
          red_metrics_config: red,
          rollback_policy: { rules: [{ name: 'e', metric: 'error_rate', threshold: 0.5 }] },
        }),
      );
      await prometheus.addTargets('cart', targetGroups(app));
      const deployment = await store.deployments.create({
        app_name: 'cart',
        app_id: app.id,
        status: 'deploying',
        package_version: 'v2',
        gray_machine_id: 'c1',
        platform: 'local',
        previous_version: 'v1',
        node_deployments: [
          {
            machine_id: 'c1',
            batch: 0,
            status: 'deployed',
            version: 'v2',
            finished_at: Date.now(),
          },
          { machine_id: 'c2', batch: 1, status: 'pending', version: 'v2' },
        ],
      });
      const targetDown = async () =>
        byRule(await evaluateRelease({ deploymentId: deployment.id }))['target_down'];

      // Up and healthy, and scraped once at least: target_down passes.
      await pollUntil(
        async () =>
          (await prometheus.query('up{app="cart",instance="c1"}')) === 1 ? true : undefined,
        { timeoutMs: 15_000, intervalMs: 250 },
      );
      expect(await targetDown()).toMatchObject({ verdict: 'pass', metric: 'target', value: 0 });

      await doomed.close();
      const down = await pollUntil(
        async () => {
          const result = await targetDown();
          return result?.message.includes('stopped answering Prometheus scrapes') === true
            ? result
            : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 500 },
      );
      expect(down).toMatchObject({ verdict: 'fail', value: 1 });
      // Its query, pasted into Prometheus, counts the machine it cannot scrape.
      expect(await prometheus.query(down.promql)).toBe(1);
      expect(down?.message).toMatch(
        /^target_down: machine c1 \(version v2\) failed its health check \(.+\) and stopped answering Prometheus scrapes at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(up == 0\)$/,
      );
      // The whole evaluation fails on it although the rule has no series any more.
      const evaluation = await evaluateRelease({ deploymentId: deployment.id });
      expect(evaluation.verdict).toBe('fail');
      expect(byRule(evaluation)['e']?.verdict).not.toBe('fail');
    } finally {
      await doomed.close().catch(() => undefined);
    }
  });
});
