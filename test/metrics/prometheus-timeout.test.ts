import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardActivities } from '../../activities/guard';
import { createLogger } from '../../activities/logger';
import { PrometheusClient, PrometheusError, prometheusOptions } from '../../activities/metrics';
import { createPlatform } from '../../activities/platform';
import { createApp } from '../../api/app';
import { loadConfig } from '../../domain/config';
import { ApplicationInput } from '../../domain';
import { tokenFor, withToken } from '../support/api-token';
import { freePort } from '../support/free-port';
import { startHungServer, type HungServer } from '../support/hung-server';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';

/**
 * A Prometheus that accepts connections and never answers (or sends its headers and never
 * the body): every query ends after PROMETHEUS_TIMEOUT_SECONDS with an error that names the
 * remote, the time waited, the setting and the query; the guard turns it into `error`
 * verdicts (it cannot judge), recorded like every evaluation, and the api into a 503.
 */
let silent: HungServer;
let headersOnly: HungServer;
let testStore: TestStore;

beforeAll(async () => {
  [silent, headersOnly, testStore] = await Promise.all([
    startHungServer('silent'),
    startHungServer('headers-only'),
    startTestStore(),
  ]);
});
afterAll(async () => {
  await silent?.close();
  await headersOnly?.close();
  await testStore?.close();
});

/** The client a relguard process builds from its configuration. */
const clientOf = (url: string) =>
  new PrometheusClient(
    prometheusOptions(loadConfig({ PROMETHEUS_URL: url, PROMETHEUS_TIMEOUT_SECONDS: '1' })),
  );

async function rejection(promise: Promise<unknown>): Promise<PrometheusError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof PrometheusError))
    throw new Error(`expected a PrometheusError: ${String(error)}`);
  return error;
}

const errorRate = 'sum(rate(http_requests_total{app="shop",status=~"5.."}[1m]))';

describe('a Prometheus that hangs', () => {
  it('ends a query after PROMETHEUS_TIMEOUT_SECONDS, naming the remote, the wait and the query', async () => {
    const error = await rejection(clientOf(silent.url).instantQuery(errorRate));
    expect(error.errorType).toBe('client_timeout');
    expect(error.query).toBe(errorRate);
    expect(error.message).toBe(
      `client_timeout: no answer from ${silent.url} within 1000 ms (PROMETHEUS_TIMEOUT_SECONDS) to ${errorRate}`,
    );
    expect(silent.connections()).toBeGreaterThan(0);
  });

  it('ends a query whose answer stops after the headers, and a range query, the same way', async () => {
    const cut = await rejection(clientOf(headersOnly.url).instantQuery('up'));
    expect(cut.message).toBe(
      `client_timeout: no answer from ${headersOnly.url} within 1000 ms (PROMETHEUS_TIMEOUT_SECONDS) to up`,
    );
    const range = await rejection(
      clientOf(silent.url).rangeQuery(errorRate, { start: 0, end: 60_000, stepSeconds: 15 }),
    );
    expect(range.message).toContain(`within 1000 ms (PROMETHEUS_TIMEOUT_SECONDS) to ${errorRate}`);
  });

  it('is the guard’s error verdict on every rule, recorded, never a pass', async () => {
    const { store } = testStore;
    const logger = createLogger('guard-test', 'silent');
    const app = await store.applications.create(
      ApplicationInput.parse({
        name: 'hung-shop',
        deploy_path: '/srv/hung-shop',
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: await freePort(), version: 'v2' }],
        rollback_policy: {
          rules: [
            { name: 'errors', metric: 'error_rate', threshold: 0.1 },
            { name: 'slow', metric: 'custom', promql: 'max(up{app="hung-shop"})', threshold: 2 },
          ],
        },
      }),
    );
    const deployment = await store.deployments.create({
      app_name: app.name,
      app_id: app.id,
      status: 'deploying',
      package_version: 'v2',
      gray_machine_id: 'm1',
      platform: 'local',
      previous_version: 'v1',
      node_deployments: [{ machine_id: 'm1', batch: 0, status: 'deployed', version: 'v2' }],
    });
    const guard = createGuardActivities({
      store,
      metrics: clientOf(silent.url),
      platforms: {
        local: createPlatform('local', { releasesKept: 2, logger }),
        ssh: createPlatform('ssh', { releasesKept: 2, logger }),
      },
      scrapeIntervalSeconds: 1,
      logger,
    });
    const evaluation = await guard.evaluateRelease({ deploymentId: deployment.id });
    expect(evaluation.verdict).toBe('error');
    // target_down and the two rules: none could be measured, each says why and with what.
    expect(evaluation.results.map((result) => result.rule).sort()).toEqual(
      ['errors', 'slow', 'target_down'].sort(),
    );
    for (const result of evaluation.results) {
      expect(result.verdict).toBe('error');
      expect(result.message).toContain(
        `client_timeout: no answer from ${silent.url} within 1000 ms (PROMETHEUS_TIMEOUT_SECONDS) to `,
      );
    }
    const slow = evaluation.results.find((result) => result.rule === 'slow');
    expect(slow?.message).toBe(
      `slow: error: client_timeout: no answer from ${silent.url} within 1000 ms (PROMETHEUS_TIMEOUT_SECONDS) to max(up{app="hung-shop"})`,
    );
    const recorded = await store.guardEvaluations.listByDeployment(deployment.id);
    expect(recorded.map((record) => record.verdict)).toEqual(['error']);
  });

  it('is a 503 of the api that names Prometheus, the wait and the query', async () => {
    const { store } = testStore;
    const api = withToken(
      createApp({
        store,
        temporal: { check: () => Promise.resolve(true) },
        releases: releasesNotUsedHere,
        logger: createLogger('api', 'silent'),
        prometheus: clientOf(silent.url),
      }),
      await tokenFor(store, 'viewer'),
    );
    const app = await store.applications.create(
      ApplicationInput.parse({
        name: 'hung-charts',
        deploy_path: '/srv/hung-charts',
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: 4001, version: 'v1' }],
      }),
    );
    const response = await api.request(`/api/v1/applications/${app.id}/metrics`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toMatch(
      new RegExp(
        `^Prometheus at ${silent.url} is unavailable: client_timeout: no answer from ${silent.url} ` +
          'within 1000 ms \\(PROMETHEUS_TIMEOUT_SECONDS\\) to .*hung-charts',
      ),
    );
  });
});
