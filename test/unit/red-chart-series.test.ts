import { describe, expect, it } from 'vitest';
import { releaseEvents, servedVersions } from '../../api/applications/red-metrics';
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
