import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { PrometheusClient } from '../../activities/metrics/prometheus';
import { createApp } from '../../api/app';
import type { AnalysisSeries } from '../../client';
import { sampleReport } from '../support/analysis-report';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import { releasesNotUsedHere } from '../support/releases';
import { recordOnsetRelease, type OnsetRelease } from '../support/report-onset';

/**
 * The report's charts show the onset: a service scraped by a real Prometheus answers without
 * errors, then (its release's gray machine deployed) with errors until the rollback; the
 * report's pinned queries, charted through the api, are low before the release and high after
 * the breach, with the release's markers in order and the pinned queries returned as written.
 */
let onset: OnsetRelease;
let viewer: TestApi;

beforeAll(async () => {
  onset = await recordOnsetRelease();
  const { store } = onset.testStore;
  const api = createApp({
    store,
    temporal: { check: () => Promise.resolve(true) },
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
    prometheus: new PrometheusClient({ url: onset.prometheus.url, timeoutMs: 5_000 }),
  });
  viewer = withToken(api, await tokenFor(store, 'viewer', 'vera'));
}, 120_000);

afterAll(async () => {
  await onset?.stop();
});

describe('GET /api/v1/deployments/:id/analysis/series (the onset)', () => {
  it('charts the pinned queries unpinned: low before the release, high after the breach', async () => {
    const { deployment, moments, metrics, pinnedAt } = onset;
    const [ratio, heuristic] = metrics;
    // The report as the analyzers wrote it, and a query an LLM got wrong.
    const report = await onset.testStore.store.analysisReports.findByDeployment(deployment.id);
    await onset.testStore.store.analysisReports.save(
      sampleReport({
        ...report,
        anomalous_metrics: [
          ...metrics,
          { name: 'unparsable', promql: 'sum(rate(', observation: 'an LLM typo' },
        ],
      }),
    );
    const response = await viewer.request(`/api/v1/deployments/${deployment.id}/analysis/series`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as AnalysisSeries;

    // The windows: at least 10 minutes before the release's start, through the rollback.
    expect(body.baseline_window.to).toBe(moments.start);
    expect(body.release_window.from).toBe(moments.start);
    expect(body.baseline_window.from).toBeLessThanOrEqual(moments.start - 10 * 60_000);
    expect(body.release_window.to).toBeGreaterThanOrEqual(moments.rollbackDone);
    expect([body.from, body.to]).toEqual([body.baseline_window.from, body.release_window.to]);
    expect(body.step_seconds).toBe(1);

    // The markers of the deployment, in order.
    const kinds = body.markers.map((marker) => marker.kind);
    expect(kinds).toEqual(['start', 'gray_deployed', 'breach', 'rollback_begun', 'rollback_done']);
    const at = Object.fromEntries(body.markers.map((marker) => [marker.kind, marker.at]));
    expect(at).toEqual({
      start: moments.start,
      gray_deployed: moments.gray,
      breach: moments.breach,
      rollback_begun: moments.rollbackBegun,
      rollback_done: moments.rollbackDone,
    });

    const [ratioItem, heuristicItem, unparsable] = body.items;
    // The pinned queries come back as written; the charted ones have no pin left.
    expect(ratioItem).toMatchObject({
      name: 'error ratio',
      promql: ratio?.promql,
      chart_promql: ratio?.promql.split(` @ ${pinnedAt}`).join(''),
      unpinned: [`@ ${pinnedAt}`, `@ ${pinnedAt}`],
    });
    expect(heuristicItem?.promql).toBe(heuristic?.promql);
    expect(heuristicItem?.chart_promql).not.toContain('@');
    for (const item of [ratioItem, heuristicItem]) {
      expect(item?.error).toBeUndefined();
      expect(item?.unpin_error).toBeUndefined();
      const values = (from: number, to: number) =>
        (item?.series ?? []).flatMap((one) =>
          one.values.filter((value, index): value is number => {
            const time = one.timestamps[index] ?? Number.NaN;
            return value !== null && time >= from && time < to;
          }),
        );
      const before = values(body.from, moments.start);
      const afterBreach = values(moments.breach, moments.rollbackBegun);
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(afterBreach.length).toBeGreaterThanOrEqual(3);
      // The onset: nothing failed before the release; after the breach, requests failed.
      expect(Math.max(...before)).toBe(0);
      expect(Math.min(...afterBreach)).toBeGreaterThan(0);
    }

    // An unreadable query is charted as written, and the answer says why.
    expect(unparsable).toMatchObject({
      promql: 'sum(rate(',
      chart_promql: 'sum(rate(',
      unpinned: [],
    });
    expect(unparsable?.unpin_error).toMatch(/^the query does not parse as PromQL/);
    expect(unparsable?.error).toMatch(/^bad_data: /);
  });

  it('needs the unpinning: the pinned query over the same range is one flat value', async () => {
    const { moments, metrics } = onset;
    const client = new PrometheusClient({ url: onset.prometheus.url, timeoutMs: 5_000 });
    const series = await client.rangeQuery(metrics[0]?.promql ?? '', {
      start: moments.start - 5_000,
      end: moments.rollbackDone,
      stepSeconds: 1,
    });
    const values = series.flatMap((one) => one.samples.map((sample) => sample.value));
    expect(values.length).toBeGreaterThan(3);
    expect(new Set(values).size).toBe(1);
  });
});
