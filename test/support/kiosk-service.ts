import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Store } from '../../activities/db';
import {
  ApplicationInput,
  type Application,
  type Deployment,
  type ReleaseEvent,
} from '../../domain';
import { pollUntil } from '../mockserver/helpers';
import type { TestPrometheus } from './prometheus';

/**
 * "kiosk": a tiny HTTP service written for the chart tests, unlike the mockserver, the ledger
 * and the orders service: it counts its answers as `kiosk_answers_total{code="…"}` (no
 * `status` label, no `http_requests_total`) and reports its slowest answer as the gauge
 * `kiosk_slowest_answer_seconds`. A failing kiosk answers every `failEvery`-th request 500 or
 * 503, alternately (so its 5xx come in two series, with gaps between them). It exports no app,
 * version or instance label: Prometheus' target labels say what it is.
 */
export interface Kiosk {
  url: string;
  /** host:port, as a Prometheus target. */
  target: string;
  answered(): number;
  close(): Promise<void>;
}

export async function startKiosk(options: { failEvery?: number } = {}): Promise<Kiosk> {
  const counts = new Map<string, number>();
  let requests = 0;
  let slowest = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      const lines = [
        '# TYPE kiosk_answers_total counter',
        ...[...counts].map(([code, count]) => `kiosk_answers_total{code="${code}"} ${count}`),
        '# TYPE kiosk_slowest_answer_seconds gauge',
        `kiosk_slowest_answer_seconds ${slowest}`,
        '',
      ];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(lines.join('\n'));
      return;
    }
    const started = performance.now();
    requests += 1;
    const failing = options.failEvery !== undefined && requests % options.failEvery === 0;
    const code = failing ? (requests % (2 * options.failEvery!) === 0 ? 503 : 500) : 200;
    counts.set(String(code), (counts.get(String(code)) ?? 0) + 1);
    slowest = Math.max(slowest, (performance.now() - started) / 1000);
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(failing ? 'kiosk is out of order' : 'ticket');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    answered: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `kiosk`'s RED templates: errors grouped by code, rate not, to prove the charts do not care. */
export const kioskRedMetrics = {
  rate: 'sum(rate(kiosk_answers_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}[5s]))',
  errors:
    'sum by (code) (rate(kiosk_answers_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",code=~"5.."}[5s]))',
  duration:
    'max(kiosk_slowest_answer_seconds{app="{{app}}",version="{{version}}",instance=~"{{instances}}"})',
};

const machineStep = (
  at: number,
  machine_id: string,
  batch: number,
  status: ReleaseEvent['status'],
  version: string,
): ReleaseEvent => ({ at, kind: 'machine', machine_id, batch, status, version });

export interface KioskHistory {
  app: Application;
  /** 2.0.0, rolled back from the gray machine k1 (and k2 of batch 1) to 1.9.0 4 minutes ago. */
  rolledBack: Deployment;
  /** 2.1.0, cancelled 2 minutes ago before any machine ran it. */
  cancelled: Deployment;
}

/**
 * Application `kiosk` (machines k1, k2, k3 on the three `kiosks`, all on 1.9.0 now) and its
 * history as the release activities record it: a release of 1.9.0 three hours ago, a release
 * of 2.0.0 rolled back after a breach 4 minutes ago (its gray machine k1 deployed, batch 1
 * started), a release of 2.1.0 cancelled 2 minutes ago. Prometheus scrapes k1 as 2.0.0 (it
 * answers as the rolled-back version did) and k2, k3 as 1.9.0.
 */
export async function seedKioskHistory(
  store: Pick<Store, 'applications' | 'deployments'>,
  prometheus: Pick<TestPrometheus, 'addTargets'>,
  kiosks: readonly Kiosk[],
): Promise<KioskHistory> {
  const machineIds = ['k1', 'k2', 'k3'];
  const machines = kiosks.map((service, index) => {
    const [host, port] = service.target.split(':');
    return { id: machineIds[index]!, host: host!, port: Number(port), version: '1.9.0' };
  });
  const app = await store.applications.create(
    ApplicationInput.parse({
      name: 'kiosk',
      deploy_path: '/srv/kiosk',
      start_cmd: 'node kiosk.js',
      red_metrics_config: kioskRedMetrics,
      machines,
    }),
  );
  // The gray machine k1 still answers as 2.0.0 (as it did until the rollback): Prometheus'
  // target labels say which version answered.
  await prometheus.addTargets(
    'kiosk',
    machines.map((machine, index) => ({
      targets: [kiosks[index]!.target],
      labels: { app: 'kiosk', version: index === 0 ? '2.0.0' : '1.9.0', instance: machine.id },
    })),
  );

  const now = Date.now();
  const base = {
    app_name: 'kiosk',
    app_id: app.id,
    gray_machine_id: 'k1',
    platform: 'local' as const,
  };
  // Long over before the window: its versions are not charted.
  await store.deployments.create(
    {
      ...base,
      status: 'succeeded',
      package_version: '1.9.0',
      previous_version: '1.8.0',
      node_deployments: [],
    },
    now - 3 * 3_600_000,
  );
  const t0 = now - 4 * 60_000;
  const rolledBack = await store.deployments.create(
    {
      ...base,
      status: 'rolled_back',
      package_version: '2.0.0',
      previous_version: '1.9.0',
      reason: 'error rate breached',
      node_deployments: [
        { machine_id: 'k1', batch: 0, status: 'rolled_back', version: '1.9.0' },
        { machine_id: 'k2', batch: 1, status: 'rolled_back', version: '1.9.0' },
        { machine_id: 'k3', batch: 1, status: 'skipped', version: '2.0.0' },
      ],
      rollback: {
        reason: 'error rate breached',
        requested_by: 'metric-guard',
        first_breach_at: t0 + 30_000,
        detected_at: t0 + 31_000,
      },
      timeline: [
        { at: t0 + 1_000, kind: 'status', status: 'deploying' },
        machineStep(t0 + 2_000, 'k1', 0, 'deploying', '2.0.0'),
        machineStep(t0 + 5_000, 'k1', 0, 'deployed', '2.0.0'),
        machineStep(t0 + 20_000, 'k2', 1, 'deploying', '2.0.0'),
        machineStep(t0 + 22_000, 'k2', 1, 'deployed', '2.0.0'),
        { at: t0 + 32_000, kind: 'status', status: 'rolling_back' },
        machineStep(t0 + 33_000, 'k1', 0, 'rolling_back', '1.9.0'),
        machineStep(t0 + 33_000, 'k2', 1, 'rolling_back', '1.9.0'),
        machineStep(t0 + 40_000, 'k1', 0, 'rolled_back', '1.9.0'),
        machineStep(t0 + 41_000, 'k2', 1, 'rolled_back', '1.9.0'),
        { at: t0 + 45_000, kind: 'status', status: 'rolled_back' },
      ],
    },
    t0,
  );
  const t1 = now - 2 * 60_000;
  const cancelled = await store.deployments.create(
    {
      ...base,
      status: 'cancelled',
      package_version: '2.1.0',
      previous_version: '1.9.0',
      node_deployments: [{ machine_id: 'k1', batch: 0, status: 'pending', version: '1.9.0' }],
      timeline: [{ at: t1 + 3_000, kind: 'status', status: 'cancelled', reason: 'not today' }],
    },
    t1,
  );

  return { app, rolledBack, cancelled };
}

/** Requests to each url, `perSecond` each, until `signal` aborts. */
export async function driveKiosks(
  urls: readonly string[],
  perSecond: number,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    await Promise.all(
      urls.map((url) =>
        fetch(`${url}/ticket`, { signal })
          .then((response) => response.arrayBuffer())
          .catch(() => undefined),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
  }
}

/**
 * Waits until Prometheus has both versions' traffic and the gray machine's 5xx of both codes,
 * then a few more seconds: several steps of a 5-minute chart (2 s each) have them.
 */
export async function kioskTrafficCharted(prometheus: Pick<TestPrometheus, 'query'>) {
  await pollUntil(
    async () => {
      const values = await Promise.all([
        prometheus.query('sum(rate(kiosk_answers_total{version="1.9.0",instance="k3"}[5s]))'),
        prometheus.query('sum(rate(kiosk_answers_total{version="2.0.0",code="503"}[5s]))'),
        prometheus.query('sum(rate(kiosk_answers_total{version="2.0.0",code="500"}[5s]))'),
      ]);
      return values.every((value) => (value ?? 0) > 0) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  await new Promise((resolve) => setTimeout(resolve, 6_000));
}
