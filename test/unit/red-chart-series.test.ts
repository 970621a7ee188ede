import { describe, expect, it } from 'vitest';
import {
  mergeSeries,
  releaseEvents,
  servedSpans,
  servedVersions,
} from '../../api/applications/red-metrics';
import { fillErrorZeros } from '../../api/applications/zero-fill';
import type { Deployment } from '../../domain';

/** The pure parts of the application charts: zeros for "no 5xx", the versions, the events. */

const series = (labels: Record<string, string>, points: [number, number | null][]) => ({
  labels,
  timestamps: points.map(([time]) => time),
  values: points.map(([, value]) => value),
});

describe('fillErrorZeros', () => {
  const rate = [
    series({ version: 'v2' }, [
      [1000, 5],
      [2000, 6],
      [3000, null],
      [4000, 4],
    ]),
  ];

  it('gives a version with traffic and no errors series one series of zeros at its traffic times', () => {
    expect(fillErrorZeros(rate, [], { version: 'v2' })).toEqual([
      // 3000 has no rate value (a gap, NaN): nothing to say there.
      series({ version: 'v2' }, [
        [1000, 0],
        [2000, 0],
        [4000, 0],
      ]),
    ]);
  });

  it('fills the gaps of every errors series, whatever it is grouped by, and keeps its values', () => {
    const errors = [
      series({ version: 'v2', code: '500' }, [[2000, 0.5]]),
      series({ version: 'v2', code: '503' }, [
        [4000, 0.25],
        [5000, 0.1],
      ]),
    ];
    expect(fillErrorZeros(rate, errors, { version: 'v2' })).toEqual([
      series({ version: 'v2', code: '500' }, [
        [1000, 0],
        [2000, 0.5],
        [4000, 0],
      ]),
      // A sample beyond the traffic stays; the traffic's times are added.
      series({ version: 'v2', code: '503' }, [
        [1000, 0],
        [2000, 0],
        [4000, 0.25],
        [5000, 0.1],
      ]),
    ]);
  });

  it('leaves a version without traffic without a series: that is no data, not zero', () => {
    expect(fillErrorZeros([], [], { version: 'v3' })).toEqual([]);
    expect(
      fillErrorZeros([series({ version: 'v3' }, [[1000, null]])], [], { version: 'v3' }),
    ).toEqual([]);
    const errors = [series({ version: 'v3' }, [[1000, 1]])];
    expect(fillErrorZeros([], errors, { version: 'v3' })).toEqual(errors);
  });

  it('takes the traffic of every rate series of the version (per machine, say)', () => {
    const perMachine = [
      series({ version: 'v2', machine: 'm1' }, [[1000, 1]]),
      series({ version: 'v2', machine: 'm2' }, [[2000, 1]]),
    ];
    expect(fillErrorZeros(perMachine, [], { version: 'v2' })[0]?.timestamps).toEqual([1000, 2000]);
  });
});

describe('servedVersions', () => {
  const machines = (...versions: string[]) =>
    versions.map((version, index) => ({ ...machine, id: `m${index}`, version }));
  const machine = { id: 'm', host: '127.0.0.1', port: 1, version: '', labels: {} };
  const deployment = (package_version: string, previous_version: string) => ({
    package_version,
    previous_version,
  });

  it("charts what the machines run, then each deployment's version and the one it replaced, newest first", () => {
    const app = { machines: machines('v1', 'v1', ''), currentVersion: 'v1' };
    expect(servedVersions(app, [deployment('v2', 'v1'), deployment('v1', 'v0')])).toEqual({
      versions: ['v1', 'v2', 'v0'],
      left_out: [],
    });
  });

  it('keeps the newest `max` and names the ones left out', () => {
    const app = { machines: machines('v9'), currentVersion: 'v9' };
    const deployments = [9, 8, 7, 6, 5, 4, 3, 2, 1].map((n) => deployment(`v${n}`, `v${n - 1}`));
    const { versions, left_out } = servedVersions(app, deployments, 4);
    expect(versions).toEqual(['v9', 'v8', 'v7', 'v6']);
    expect(left_out).toEqual(['v5', 'v4', 'v3', 'v2', 'v1', 'v0']);
  });
});

describe('releaseEvents', () => {
  const deployment = (id: string, version: string) =>
    ({ id, package_version: version }) as Deployment;
  const markers = new Map([
    [
      'd1',
      [
        { kind: 'start', at: 100, label: 'start' },
        { kind: 'breach', at: 300, label: 'breach' },
        { kind: 'rollback_done', at: 900, label: 'rolled back' },
      ],
    ],
    ['d2', [{ kind: 'batch', at: 200, label: 'batch 1', batch: 1 }]],
  ]);

  it("lists the window's events of every deployment oldest first, each linking to its release", () => {
    const events = releaseEvents(
      [deployment('d1', 'v2'), deployment('d2', 'v3')],
      { from: 150, to: 800 },
      (d) => markers.get(d.id) ?? [],
    );
    expect(events).toEqual([
      {
        at: 200,
        kind: 'batch',
        label: 'batch 1',
        batch: 1,
        deployment_id: 'd2',
        version: 'v3',
        href: '/releases/d2',
      },
      {
        at: 300,
        kind: 'breach',
        label: 'breach',
        deployment_id: 'd1',
        version: 'v2',
        href: '/releases/d1',
      },
    ]);
  });
});

describe('a short-lived version', () => {
  const window = { from: 0, to: 3_600_000 };
  const release = (
    package_version: string,
    previous_version: string,
    createdTime: number,
    updatedTime: number,
    status: Deployment['status'],
  ) => ({ package_version, previous_version, createdTime, updatedTime, status });

  it('is asked for over its own life; versions that served all along over the window', () => {
    const spans = servedSpans(
      { machines: [{ version: 'v1.0.0' }], currentVersion: 'v1.0.0' },
      ['v1.0.0', 'v1.1.0', 'v0.9.0', 'v1.2.0'],
      [
        release('v1.1.0', 'v1.0.0', 1_000_000, 1_012_000, 'rolled_back'),
        release('v1.0.0', 'v0.9.0', 500_000, 600_000, 'succeeded'),
        release('v1.2.0', 'v1.0.0', 3_590_000, 3_595_000, 'deploying'),
      ],
      window,
    );
    expect(spans.get('v1.0.0')).toEqual(window);
    // Replaced by v1.0.0 in the window: it served until then, and before the window too.
    expect(spans.get('v0.9.0')).toEqual(window);
    // Rolled back after 12 s: its life and a minute's tail.
    expect(spans.get('v1.1.0')).toEqual({ from: 1_000_000, to: 1_072_000 });
    // Still running: until the window's end.
    expect(spans.get('v1.2.0')).toEqual({ from: 3_590_000, to: 3_600_000 });
  });

  it('merges the answers of two ranges per label set, in time order, the first answer winning', () => {
    const merged = mergeSeries([
      { labels: { version: 'v1.1.0' }, timestamps: [0, 15_000, 30_000], values: [0, 2, null] },
      { labels: { version: 'v1.1.0' }, timestamps: [14_000, 15_000, 16_000], values: [1, 9, 3] },
      { labels: { version: 'v1.1.0', code: '500' }, timestamps: [15_000], values: [4] },
    ]);
    expect(merged).toEqual([
      {
        labels: { version: 'v1.1.0' },
        timestamps: [0, 14_000, 15_000, 16_000, 30_000],
        values: [0, 1, 2, 3, null],
      },
      { labels: { version: 'v1.1.0', code: '500' }, timestamps: [15_000], values: [4] },
    ]);
  });
});
