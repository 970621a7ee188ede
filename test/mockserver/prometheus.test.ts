import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, type LoadSummary } from '../../mockserver/load-generator';
import type { MockServer } from '../../mockserver/server';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { call, pollUntil, startServer } from './helpers';

// Short windows so the test sees a change within seconds of a 1 s scrape.
const errorRatio =
  'sum(rate(http_requests_total{app="promtest",route=~"/api/.*",status=~"5.."}[5s]) or vector(0))' +
  ' / sum(rate(http_requests_total{app="promtest",route=~"/api/.*"}[5s]))';
const activeErrorFaults = 'sum(mockserver_fault_active{app="promtest",type="error"})';

let prometheus: TestPrometheus;
let server: MockServer;
const stopLoad = new AbortController();
let load: Promise<LoadSummary>;

beforeAll(async () => {
  [prometheus, server] = await Promise.all([
    startPrometheus({ scrapeIntervalSeconds: 1 }),
    startServer({
      app: 'promtest',
      version: 'v1.0.0',
      instance: 'machine-p',
      baselineLatency: true,
    }),
  ]);
  await prometheus.addTargets('mockserver', [
    // As relguard labels a machine: the job's target labels win over the server's own.
    {
      targets: [`${server.host}:${server.port}`],
      labels: { env: 'test', app: server.app, version: server.version, instance: server.instance },
    },
  ]);
  load = runLoad({ targets: [server.url], rps: 60, signal: stopLoad.signal });
});
afterAll(async () => {
  stopLoad.abort();
  await load;
  await server?.close();
  await prometheus?.stop();
});

describe('mockserver scraped by Prometheus', () => {
  it('shows the error rate and the active error fault rise and fall with the fault', async () => {
    const healthy = await pollUntil(
      async () => {
        const ratio = await prometheus.query(errorRatio);
        return ratio !== undefined && Number.isFinite(ratio) ? ratio : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(healthy).toBe(0);
    expect(await prometheus.query(activeErrorFaults)).toBe(0);

    const started = await call(`${server.url}/faults`, {
      method: 'POST',
      body: { type: 'error', params: { rate: 0.5 }, duration: '5s' },
    });
    expect(started.status).toBe(201);

    const during = await pollUntil(
      async () => {
        const [ratio, active] = await Promise.all([
          prometheus.query(errorRatio),
          prometheus.query(activeErrorFaults),
        ]);
        return ratio !== undefined && ratio > 0.3 && active === 1 ? ratio : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 250 },
    );
    expect(during).toBeLessThan(0.7);

    const after = await pollUntil(
      async () => {
        const [ratio, active] = await Promise.all([
          prometheus.query(errorRatio),
          prometheus.query(activeErrorFaults),
        ]);
        return ratio === 0 && active === 0 ? ratio : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(after).toBe(0);
  });
});
