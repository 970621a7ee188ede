import { describe, expect, it } from 'vitest';
import type { Deployment, NodeDeployment, ReleaseEvent } from '../../domain';
import {
  releaseMarkers,
  releaseTimeline,
  type ReleaseMarker,
  type ReleasePhase,
} from '../../domain/release-timeline';

/** A release of v2 from v1 on m1 (the gray machine), m2 and m3 (batch 1), m4 (batch 2). */
function deployment(changes: Partial<Deployment>): Deployment {
  return {
    id: 'd1',
    app_name: 'shop',
    app_id: 'app-1',
    status: 'deploying',
    package_version: 'v2',
    gray_machine_id: 'm1',
    platform: 'local',
    previous_version: 'v1',
    node_deployments: nodes({}),
    createdTime: 1_000,
    updatedTime: 1_000,
    ...changes,
  };
}

const layout: [string, number][] = [
  ['m1', 0],
  ['m2', 1],
  ['m3', 1],
  ['m4', 2],
];

function nodes(changes: Record<string, Partial<NodeDeployment>>): NodeDeployment[] {
  return layout.map(([machine_id, batch]) => ({
    machine_id,
    batch,
    status: 'pending',
    version: 'v2',
    ...changes[machine_id],
  }));
}

const status = (at: number, value: ReleaseEvent['status'], reason?: string): ReleaseEvent => ({
  at,
  kind: 'status',
  status: value,
  ...(reason === undefined ? {} : { reason }),
});

function machine(at: number, id: string, value: ReleaseEvent['status']): ReleaseEvent {
  const batch = layout.find(([machineId]) => machineId === id)![1];
  const back = value === 'rolling_back' || value === 'rolled_back';
  return { at, kind: 'machine', status: value, machine_id: id, batch, version: back ? 'v1' : 'v2' };
}

/** Each machine's deploy: deploying at `at`, deployed 1 s later. */
const deploy = (at: number, id: string) => [
  machine(at, id, 'deploying'),
  machine(at + 1_000, id, 'deployed'),
];
const rollBack = (at: number, id: string) => [
  machine(at, id, 'rolling_back'),
  machine(at + 2_000, id, 'rolled_back'),
];

/** The start, the gray machine, its bake, batch 1 (two machines), its wait, batch 2. */
const rolledForward: ReleaseEvent[] = [
  status(1_100, 'deploying'),
  ...deploy(2_000, 'm1'),
  status(3_100, 'verifying'),
  status(10_000, 'deploying'),
  ...deploy(10_000, 'm2'),
  ...deploy(10_500, 'm3'),
  ...deploy(20_000, 'm4'),
  status(21_100, 'verifying'),
];

type PhaseRow = [ReleasePhase['kind'], number | undefined, number, number | undefined];
type MarkerRow = [ReleaseMarker['kind'], number];

interface Case {
  name: string;
  deployment: Deployment;
  to: number | undefined;
  phases: PhaseRow[];
  markers: MarkerRow[];
  /** Per machine: [state, version, from, to] of each segment. */
  lanes: Record<string, [string, string, number, number | undefined][]>;
}

const cases: Case[] = [
  {
    name: 'a succeeded release',
    deployment: deployment({
      status: 'succeeded',
      node_deployments: nodes({
        m1: { status: 'deployed' },
        m2: { status: 'deployed' },
        m3: { status: 'deployed' },
        m4: { status: 'deployed' },
      }),
      timeline: [...rolledForward, status(40_000, 'succeeded')],
    }),
    to: 40_000,
    phases: [
      ['gray', 0, 2_000, 3_000],
      ['gray_bake', 0, 3_000, 10_000],
      ['batch', 1, 10_000, 11_500],
      ['batch_bake', 1, 11_500, 20_000],
      ['batch', 2, 20_000, 21_000],
      ['verification', undefined, 21_000, 40_000],
    ],
    markers: [
      ['start', 1_000],
      ['gray_deployed', 3_000],
      ['batch', 10_000],
      ['batch', 20_000],
      ['succeeded', 40_000],
    ],
    lanes: {
      m1: [
        ['old', 'v1', 1_000, 2_000],
        ['deploying', 'v2', 2_000, 3_000],
        ['new', 'v2', 3_000, 40_000],
      ],
      m3: [
        ['old', 'v1', 1_000, 10_500],
        ['deploying', 'v2', 10_500, 11_500],
        ['new', 'v2', 11_500, 40_000],
      ],
    },
  },
  {
    name: 'a release rolled back on a breach during the gray bake',
    deployment: deployment({
      status: 'rolled_back',
      reason: 'error_rate 0.4 > 0.05',
      node_deployments: nodes({ m1: { status: 'rolled_back', version: 'v1' } }),
      rollback: {
        reason: 'error_rate 0.4 > 0.05',
        requested_by: 'metric-guard',
        requested_at: 6_000,
        detected_at: 6_000,
        first_breach_at: 5_000,
        failing: [
          {
            rule: 'error_rate',
            metric: 'error_rate',
            promql: 'x',
            value: 0.4,
            operator: '>',
            threshold: 0.05,
            verdict: 'fail',
            message: 'error_rate 0.4 > 0.05',
          },
        ],
      },
      timeline: [
        status(1_100, 'deploying'),
        ...deploy(2_000, 'm1'),
        status(3_100, 'verifying'),
        // The machine's step is written before the status's (they run side by side).
        ...rollBack(6_100, 'm1'),
        status(6_200, 'rolling_back', 'error_rate 0.4 > 0.05'),
        status(8_500, 'rolled_back', 'error_rate 0.4 > 0.05'),
      ],
    }),
    to: 8_500,
    phases: [
      ['gray', 0, 2_000, 3_000],
      ['gray_bake', 0, 3_000, 6_100],
      ['rollback', undefined, 6_100, 8_500],
    ],
    markers: [
      ['start', 1_000],
      ['gray_deployed', 3_000],
      ['breach', 5_000],
      ['rollback_begun', 6_100],
      ['rollback_done', 8_500],
    ],
    lanes: {
      m1: [
        ['old', 'v1', 1_000, 2_000],
        ['deploying', 'v2', 2_000, 3_000],
        ['new', 'v2', 3_000, 6_100],
        ['rolling_back', 'v1', 6_100, 8_100],
        ['rolled_back', 'v1', 8_100, 8_500],
      ],
      m2: [['old', 'v1', 1_000, 8_500]],
    },
  },
  {
    name: 'a release paused in its gray bake',
    deployment: deployment({
      status: 'paused',
      node_deployments: nodes({ m1: { status: 'deployed' } }),
      timeline: [
        status(1_100, 'deploying'),
        ...deploy(2_000, 'm1'),
        status(3_100, 'verifying'),
        status(4_000, 'paused'),
      ],
    }),
    to: undefined,
    phases: [
      ['gray', 0, 2_000, 3_000],
      ['gray_bake', 0, 3_000, undefined],
    ],
    markers: [
      ['start', 1_000],
      ['gray_deployed', 3_000],
    ],
    lanes: {
      m1: [
        ['old', 'v1', 1_000, 2_000],
        ['deploying', 'v2', 2_000, 3_000],
        ['new', 'v2', 3_000, undefined],
      ],
      m4: [['old', 'v1', 1_000, undefined]],
    },
  },
  {
    name: 'a release still deploying batch 1',
    deployment: deployment({
      status: 'deploying',
      node_deployments: nodes({
        m1: { status: 'deployed' },
        m2: { status: 'deployed' },
        m3: { status: 'deploying' },
      }),
      timeline: [
        status(1_100, 'deploying'),
        ...deploy(2_000, 'm1'),
        status(3_100, 'verifying'),
        status(10_000, 'deploying'),
        ...deploy(10_000, 'm2'),
        machine(10_500, 'm3', 'deploying'),
      ],
    }),
    to: undefined,
    phases: [
      ['gray', 0, 2_000, 3_000],
      ['gray_bake', 0, 3_000, 10_000],
      ['batch', 1, 10_000, undefined],
    ],
    markers: [
      ['start', 1_000],
      ['gray_deployed', 3_000],
      ['batch', 10_000],
    ],
    lanes: {
      m2: [
        ['old', 'v1', 1_000, 10_000],
        ['deploying', 'v2', 10_000, 11_000],
        ['new', 'v2', 11_000, undefined],
      ],
      m3: [
        ['old', 'v1', 1_000, 10_500],
        ['deploying', 'v2', 10_500, undefined],
      ],
    },
  },
  {
    name: 'a release rolled back in its verification, every machine back',
    deployment: deployment({
      status: 'rolled_back',
      node_deployments: nodes({
        m1: { status: 'rolled_back', version: 'v1' },
        m2: { status: 'rolled_back', version: 'v1' },
        m3: { status: 'rolled_back', version: 'v1' },
        m4: { status: 'rolled_back', version: 'v1' },
      }),
      rollback: { reason: 'p99', requested_by: 'metric-guard', detected_at: 30_000 },
      timeline: [
        ...rolledForward,
        status(30_100, 'rolling_back', 'p99'),
        ...['m1', 'm2', 'm3', 'm4'].flatMap((id) => rollBack(30_200, id)),
        status(33_000, 'rolled_back', 'p99'),
      ],
    }),
    to: 33_000,
    phases: [
      ['gray', 0, 2_000, 3_000],
      ['gray_bake', 0, 3_000, 10_000],
      ['batch', 1, 10_000, 11_500],
      ['batch_bake', 1, 11_500, 20_000],
      ['batch', 2, 20_000, 21_000],
      ['verification', undefined, 21_000, 30_100],
      ['rollback', undefined, 30_100, 33_000],
    ],
    markers: [
      ['start', 1_000],
      ['gray_deployed', 3_000],
      ['batch', 10_000],
      ['batch', 20_000],
      ['breach', 30_000],
      ['rollback_begun', 30_100],
      ['rollback_done', 33_000],
    ],
    lanes: {
      m4: [
        ['old', 'v1', 1_000, 20_000],
        ['deploying', 'v2', 20_000, 21_000],
        ['new', 'v2', 21_000, 30_200],
        ['rolling_back', 'v1', 30_200, 32_200],
        ['rolled_back', 'v1', 32_200, 33_000],
      ],
    },
  },
  {
    name: 'a first release whose gray machine failed, stopped by its rollback',
    deployment: deployment({
      status: 'rolled_back',
      previous_version: '',
      node_deployments: nodes({ m1: { status: 'rolled_back', version: '' } }),
      timeline: [
        status(1_100, 'deploying'),
        machine(2_000, 'm1', 'deploying'),
        { ...machine(2_500, 'm1', 'failed'), reason: 'health check failed' },
        status(2_600, 'rolling_back'),
        { ...machine(2_900, 'm1', 'rolled_back'), version: '' },
        status(3_000, 'rolled_back'),
      ],
    }),
    to: 3_000,
    phases: [
      ['gray', 0, 2_000, 2_500],
      ['rollback', undefined, 2_600, 3_000],
    ],
    markers: [
      ['start', 1_000],
      ['rollback_begun', 2_600],
      ['rollback_done', 3_000],
    ],
    lanes: {
      m1: [
        ['old', '', 1_000, 2_000],
        ['deploying', 'v2', 2_000, 2_500],
        ['failed', 'v2', 2_500, 2_900],
        ['rolled_back', '', 2_900, 3_000],
      ],
    },
  },
  {
    name: 'a release whose machine’s deploy was retried (the activity’s next attempt)',
    deployment: deployment({
      status: 'verifying',
      node_deployments: nodes({ m1: { status: 'deployed' } }),
      timeline: [
        status(1_100, 'deploying'),
        machine(2_000, 'm1', 'deploying'),
        machine(2_500, 'm1', 'failed'),
        ...deploy(4_000, 'm1'),
        status(5_100, 'verifying'),
      ],
    }),
    to: undefined,
    phases: [
      ['gray', 0, 2_000, 5_000],
      ['gray_bake', 0, 5_000, undefined],
    ],
    markers: [
      ['start', 1_000],
      ['gray_deployed', 5_000],
    ],
    lanes: {
      m1: [
        ['old', 'v1', 1_000, 2_000],
        ['deploying', 'v2', 2_000, 2_500],
        ['failed', 'v2', 2_500, 4_000],
        ['deploying', 'v2', 4_000, 5_000],
        ['new', 'v2', 5_000, undefined],
      ],
    },
  },
  {
    name: 'a release whose build failed',
    deployment: deployment({
      status: 'failed',
      reason: 'build failed',
      timeline: [status(1_100, 'building'), status(4_000, 'failed', 'build failed')],
    }),
    to: 4_000,
    phases: [],
    markers: [
      ['start', 1_000],
      ['failed', 4_000],
    ],
    lanes: { m1: [['old', 'v1', 1_000, 4_000]] },
  },
  {
    name: 'a succeeded release recorded before the timeline (machines’ times only)',
    deployment: deployment({
      status: 'succeeded',
      updatedTime: 40_000,
      node_deployments: nodes({
        m1: { status: 'deployed', started_at: 2_000, finished_at: 3_000 },
        m2: { status: 'deployed', started_at: 10_000, finished_at: 11_000 },
        m3: { status: 'deployed', started_at: 10_500, finished_at: 11_500 },
        m4: { status: 'deployed', started_at: 20_000, finished_at: 21_000 },
      }),
    }),
    to: 40_000,
    phases: [
      ['gray', 0, 2_000, 3_000],
      ['gray_bake', 0, 3_000, 10_000],
      ['batch', 1, 10_000, 11_500],
      ['batch_bake', 1, 11_500, 20_000],
      ['batch', 2, 20_000, 21_000],
      ['verification', undefined, 21_000, 40_000],
    ],
    markers: [
      ['start', 1_000],
      ['gray_deployed', 3_000],
      ['batch', 10_000],
      ['batch', 20_000],
      ['succeeded', 40_000],
    ],
    lanes: {
      m2: [
        ['old', 'v1', 1_000, 10_000],
        ['deploying', 'v2', 10_000, 11_000],
        ['new', 'v2', 11_000, 40_000],
      ],
    },
  },
  {
    name: 'a rolled-back release recorded before the timeline (rollback record and times)',
    deployment: deployment({
      status: 'rolled_back',
      updatedTime: 9_000,
      node_deployments: nodes({
        m1: { status: 'rolled_back', version: 'v1', started_at: 2_000, finished_at: 8_000 },
      }),
      rollback: {
        reason: 'error rate',
        requested_by: 'metric-guard',
        requested_at: 6_000,
        detected_at: 5_500,
        first_breach_at: 5_000,
      },
      actions: [{ action: 'start', by: 'ci', at: 1_000 }],
    }),
    to: 9_000,
    // The end of the gray machine's deploy was not kept: it is drawn up to the rollback.
    phases: [
      ['gray', 0, 2_000, 6_000],
      ['rollback', undefined, 6_000, 9_000],
    ],
    markers: [
      ['start', 1_000],
      ['breach', 5_000],
      ['rollback_begun', 6_000],
      ['rollback_done', 9_000],
    ],
    lanes: {
      m1: [
        ['old', 'v1', 1_000, 2_000],
        ['deploying', 'v2', 2_000, 6_000],
        ['rolling_back', 'v1', 6_000, 8_000],
        ['rolled_back', 'v1', 8_000, 9_000],
      ],
      m2: [['old', 'v1', 1_000, 9_000]],
    },
  },
];

describe('releaseTimeline', () => {
  it.each(cases)('$name', (entry) => {
    const timeline = releaseTimeline(entry.deployment);
    expect(timeline.from).toBe(1_000);
    expect(timeline.to).toBe(entry.to);
    expect(timeline.phases.map((phase) => [phase.kind, phase.batch, phase.from, phase.to])).toEqual(
      entry.phases,
    );
    expect(timeline.markers.map((marker) => [marker.kind, marker.at])).toEqual(entry.markers);
    expect(timeline.lanes.map((lane) => [lane.machine_id, lane.batch])).toEqual(layout);
    for (const [machineId, segments] of Object.entries(entry.lanes)) {
      const lane = timeline.lanes.find((candidate) => candidate.machine_id === machineId);
      expect(
        lane?.segments.map((segment) => [segment.state, segment.version, segment.from, segment.to]),
        machineId,
      ).toEqual(segments);
    }
    // Every lane covers the release without a gap.
    for (const lane of timeline.lanes) {
      expect(lane.segments[0]?.from).toBe(timeline.from);
      lane.segments.slice(1).forEach((segment, index) => {
        expect(segment.from).toBe(lane.segments[index]?.to);
      });
      expect(lane.segments.at(-1)?.to).toBe(timeline.to);
    }
    // The markers alone are the timeline's.
    expect(releaseMarkers(entry.deployment)).toEqual(timeline.markers);
  });

  it('labels the markers and phases in words: the breach names its failing rules', () => {
    const rolledBack = cases[1]!.deployment;
    const { markers, phases } = releaseTimeline(rolledBack);
    expect(markers.find((marker) => marker.kind === 'breach')?.label).toBe('breach: error_rate');
    expect(markers.find((marker) => marker.kind === 'rollback_begun')?.label).toBe(
      'rollback began: error_rate 0.4 > 0.05',
    );
    expect(markers.find((marker) => marker.kind === 'rollback_done')?.label).toBe(
      'rolled back to v1',
    );
    expect(phases.map((phase) => phase.label)).toEqual([
      'gray machine m1',
      'gray bake',
      'rollback to v1',
    ]);
    const succeeded = releaseTimeline(cases[0]!.deployment);
    expect(succeeded.markers.filter((marker) => marker.kind === 'batch')).toEqual([
      { kind: 'batch', at: 10_000, label: 'batch 1 started', batch: 1 },
      { kind: 'batch', at: 20_000, label: 'batch 2 started', batch: 2 },
    ]);
  });

  it('bakes and verifies a release of one machine as one band', () => {
    const single = deployment({
      status: 'succeeded',
      node_deployments: [{ machine_id: 'm1', batch: 0, status: 'deployed', version: 'v2' }],
      timeline: [
        status(1_100, 'deploying'),
        ...deploy(2_000, 'm1'),
        status(3_100, 'verifying'),
        status(9_000, 'succeeded'),
      ],
    });
    expect(
      releaseTimeline(single).phases.map((phase) => [phase.kind, phase.from, phase.to]),
    ).toEqual([
      ['gray', 2_000, 3_000],
      ['gray_bake', 3_000, 9_000],
    ]);
  });
});
