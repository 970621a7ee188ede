import { describe, expect, it } from 'vitest';
import { reportChartWindows } from '../../api/deployments/report-series';
import type { ReleaseMarker } from '../../domain/release-timeline';

const minute = 60_000;
const start = 1_700_000_000_000;
const marker = (kind: ReleaseMarker['kind'], at: number): ReleaseMarker => ({
  kind,
  at,
  label: kind,
});
/** The report's windows as the analysis makes them: the release, and as long before it. */
const reportOf = (from: number, to: number) => ({
  window: { from, to },
  baseline_window: { from: 2 * from - to, to: from },
});
const rolledBack = { createdTime: start, updatedTime: start, status: 'rolled_back' as const };

describe('reportChartWindows', () => {
  it('shows 10 minutes before a 12-second release, and a minute after its rollback', () => {
    const done = start + 12_000;
    const windows = reportChartWindows(
      reportOf(start - 48_000, done), // the analysis' window is at least a minute
      rolledBack,
      [marker('start', start), marker('breach', start + 8_000), marker('rollback_done', done)],
      done + 3_600_000,
    );
    expect(windows).toEqual({
      baseline_window: { from: start - 10 * minute, to: start },
      release_window: { from: start, to: done + minute },
      step_seconds: 1,
    });
  });

  it('stops at now while the minute after the rollback has not passed', () => {
    const done = start + 30_000;
    const windows = reportChartWindows(
      reportOf(start, done),
      rolledBack,
      [marker('start', start), marker('rollback_done', done)],
      done + 5_000,
    );
    expect(windows.release_window).toEqual({ from: start, to: done + 5_000 });
  });

  it('takes a baseline as long as the report takes one, and keeps a long chart in points', () => {
    const done = start + 6 * 3_600_000;
    const windows = reportChartWindows(
      reportOf(start, done),
      rolledBack,
      [marker('start', start), marker('rollback_done', done)],
      done + 24 * 3_600_000,
    );
    const { baseline_window: baseline, release_window: release, step_seconds: step } = windows;
    expect(baseline.to).toBe(start);
    // As long as the report's baseline, started a whole number of steps before the end.
    expect(baseline.from).toBeLessThanOrEqual(start - 6 * 3_600_000);
    expect(baseline.from).toBeGreaterThan(start - 6 * 3_600_000 - step * 1000);
    expect((release.to - baseline.from) % (step * 1000)).toBe(0);
    // A tenth of the release after it ended.
    expect(release.to).toBe(done + 36 * minute);
    const steps = (release.to - baseline.from) / 1000 / step;
    expect(steps).toBeLessThanOrEqual(601);
    expect(steps).toBeGreaterThan(500);
  });

  it("reaches the report's end when an alert started the analysis after the release", () => {
    const succeeded = start + 5 * minute;
    const alert = start + 50 * minute;
    const windows = reportChartWindows(
      reportOf(start, alert),
      { ...rolledBack, status: 'succeeded' },
      [marker('start', start), marker('succeeded', succeeded)],
      alert + minute,
    );
    expect(windows.release_window).toEqual({ from: start, to: alert + minute });
  });

  it('runs to now for a release still running, from its creation without a start marker', () => {
    const now = start + 2 * minute;
    const windows = reportChartWindows(
      reportOf(start, start + minute),
      { createdTime: start, updatedTime: start, status: 'verifying' },
      [],
      now,
    );
    expect(windows.release_window).toEqual({ from: start, to: now });
    expect(windows.baseline_window.to).toBe(start);
  });
});
