import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorsByRoute, querySpan } from '../../activities/analyzer/heuristic-queries';
import { ApplicationInput, type AnomalousMetric, type Deployment } from '../../domain';
import type { ReleaseEvent } from '../../domain';
import { pollUntil } from '../mockserver/helpers';
import { sampleReport } from './analysis-report';
import { startTestStore, type TestStore } from './mongo';
import { startPrometheus, type TestPrometheus } from './prometheus';
import { startTogether } from './start-together';

/**
 * A release that went bad, as a real Prometheus saw it: a service (app `onset`, machine m1)
 * answers without errors, then from the moment its gray machine is deployed ten 5xx a second,
 * until the rollback begins. The deployment is recorded as the release activities record it
 * (its timeline of steps, the guard's rollback with the breach), with a report whose anomalous
 * metrics are pinned (`@`) to the end of the release window, as the analyzers write them.
 */
export interface OnsetRelease {
  prometheus: TestPrometheus;
  testStore: TestStore;
  deployment: Deployment;
  /** Epoch ms: release started, gray machine deployed (errors begin), breach, rollback. */
  moments: {
    start: number;
    gray: number;
    breach: number;
    rollbackBegun: number;
    rollbackDone: number;
  };
  /** The 5xx counter of the service. */
  errorsSelector: string;
  /** The report's anomalous metrics: a pinned error ratio, and the heuristic's 5xx by route. */
  metrics: AnomalousMetric[];
  /** The unix second the report's queries are pinned to. */
  pinnedAt: number;
  stop(): Promise<void>;
}

const errorsSelector = 'http_requests_total{app="onset",status="500"}';

export async function recordOnsetRelease(): Promise<OnsetRelease> {
  const startedAt = Date.now();
  /** The service's errors: none until `badFrom`, ten a second from then until `badTo`. */
  const bad: { from?: number; to?: number } = {};
  const metricsText = (now: number): string => {
    const ok = Math.floor((now - startedAt) / 50); // 20 a second
    const errors =
      bad.from === undefined ? 0 : Math.floor((Math.min(now, bad.to ?? now) - bad.from) / 100);
    return [
      '# TYPE http_requests_total counter',
      `http_requests_total{route="/api/pay",status="200"} ${ok}`,
      `http_requests_total{route="/api/pay",status="500"} ${Math.max(0, errors)}`,
      '',
    ].join('\n');
  };
  const service: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(metricsText(Date.now()));
  });
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  const { port } = service.address() as AddressInfo;
  const [prometheus, testStore] = await startTogether([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startTestStore(),
  ]);
  const stop = async () => {
    await prometheus.stop();
    await testStore.close();
    await new Promise((resolve) => service.close(resolve));
  };
  try {
    await prometheus.addTargets('onset', [
      {
        targets: [`127.0.0.1:${port}`],
        labels: { app: 'onset', version: 'v1.0.0', instance: 'm1' },
      },
    ]);
    const poll = { timeoutMs: 30_000, intervalMs: 200 };
    /** Until Prometheus has a sample of the service at least `seconds` after `since`. */
    const scrapedAfter = (since: number, seconds: number) =>
      pollUntil(async () => {
        const last = ((await prometheus.query(`timestamp(${errorsSelector})`)) ?? 0) * 1000;
        return last >= since + seconds * 1000 || undefined;
      }, poll);

    // Before the release: several scrapes of a service without errors.
    await pollUntil(
      async () =>
        ((await prometheus.query(`count_over_time(${errorsSelector}[1m])`)) ?? 0) >= 6 || undefined,
      poll,
    );
    const start = Date.now();
    await scrapedAfter(start, 2);
    // The gray machine is deployed and the new version fails; the guard sees it a little later.
    const gray = Date.now();
    bad.from = gray;
    await pollUntil(
      async () =>
        ((await prometheus.query(`increase(${errorsSelector}[3s])`)) ?? 0) > 0 || undefined,
      poll,
    );
    const breach = Date.now();
    await scrapedAfter(breach, 4);
    const rollbackBegun = Date.now();
    bad.to = rollbackBegun;
    await scrapedAfter(rollbackBegun, 1);
    const rollbackDone = Date.now();
    const moments = { start, gray, breach, rollbackBegun, rollbackDone };

    const { store } = testStore;
    const app = await store.applications.create(
      ApplicationInput.parse({
        name: 'onset',
        deploy_path: '/srv/onset',
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port }],
      }),
    );
    const machine = { kind: 'machine' as const, machine_id: 'm1', batch: 0 };
    const timeline: ReleaseEvent[] = [
      { at: start, kind: 'status', status: 'deploying' },
      { ...machine, at: start + 1, status: 'deploying', version: 'v1.1.0' },
      { ...machine, at: gray, status: 'deployed', version: 'v1.1.0' },
      { at: rollbackBegun, kind: 'status', status: 'rolling_back' },
      { ...machine, at: rollbackBegun, status: 'rolling_back', version: 'v1.0.0' },
      { ...machine, at: rollbackDone, status: 'rolled_back', version: 'v1.0.0' },
      { at: rollbackDone, kind: 'status', status: 'rolled_back', reason: 'error ratio' },
    ];
    const deployment = await store.deployments.create(
      {
        app_name: app.name,
        app_id: app.id,
        status: 'rolled_back',
        package_version: 'v1.1.0',
        gray_machine_id: 'm1',
        platform: 'local',
        previous_version: 'v1.0.0',
        node_deployments: [
          {
            machine_id: 'm1',
            batch: 0,
            status: 'rolled_back',
            version: 'v1.0.0',
            started_at: start + 1,
            finished_at: rollbackDone,
          },
        ],
        reason: 'error ratio',
        rollback: {
          reason: 'metric guard: error ratio 0.33 > 0.05',
          requested_by: 'metric-guard',
          requested_at: rollbackBegun,
          detected_at: breach,
          first_breach_at: breach,
        },
        timeline,
      },
      start,
    );

    const window = { from: start, to: rollbackDone };
    const span = querySpan(window);
    const metrics: AnomalousMetric[] = [
      {
        name: 'error ratio',
        promql:
          `sum(rate(${errorsSelector}[3s] @ ${span.end})) / ` +
          `sum(rate(http_requests_total{app="onset"}[3s] @ ${span.end}))`,
        observation: 'a third of the requests fail',
      },
      {
        name: '5xx by route',
        promql: errorsByRoute({ matchers: 'app="onset"', span }),
        observation: '/api/pay answers 500',
      },
    ];
    await store.analysisReports.save(
      sampleReport({
        deployment_id: deployment.id,
        app_id: app.id,
        app_name: 'onset',
        anomalous_metrics: metrics,
        window,
        baseline_window: { from: 2 * window.from - window.to, to: window.from },
      }),
    );
    return {
      prometheus,
      testStore,
      deployment,
      moments,
      errorsSelector,
      metrics,
      pinnedAt: span.end,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
