import {
  releaseTimeline,
  type MachineLane,
  type ReleaseMarker,
  type ReleasePhase,
  type ReleaseTimeline,
} from '../../../domain/release-timeline';
import type { ChartBand, ChartMarker } from '../components/chart';
import { formatDuration, formatTime } from '../format';
import type { DeploymentView, GuardEvaluationRecord } from '../types';
import './release-timeline.css';

/** The guard's own rule (domain/guard.ts targetDownRule), kept here so no domain code is bundled. */
const targetDownRule = 'target_down';

/** The time the page shows: the release's, to its end or now, and any evaluation after it. */
export interface TimeAxis {
  from: number;
  to: number;
}

export function timeAxisOf(
  timeline: ReleaseTimeline,
  evaluations: readonly GuardEvaluationRecord[],
  now: number,
): TimeAxis {
  const end = Math.max(timeline.to ?? now, evaluations.at(-1)?.at ?? 0);
  // A release of no length yet still has a width to draw.
  return { from: timeline.from, to: Math.max(end, timeline.from + 1000) };
}

/** The phases as the guard charts' bands, and the markers as theirs: one story on every chart. */
export function chartBands(timeline: ReleaseTimeline): ChartBand[] {
  return timeline.phases.map((phase) => ({
    from: phase.from,
    ...(phase.to === undefined ? {} : { to: phase.to }),
    kind: phase.kind,
    label: phase.label,
  }));
}

export function chartMarkers(timeline: ReleaseTimeline): ChartMarker[] {
  return timeline.markers.map((marker) => ({
    at: marker.at,
    kind: marker.kind,
    label: marker.label,
  }));
}

/** What one evaluation showed, as a mark: its verdict, or target_down when a machine was down. */
export function evaluationMark(evaluation: GuardEvaluationRecord): string {
  const down = evaluation.results.some(
    (result) => result.rule === targetDownRule && result.verdict === 'fail',
  );
  return down ? 'target_down' : evaluation.verdict;
}

/** A time as a share of the axis, in %, kept on it. */
function position(axis: TimeAxis, at: number): number {
  const share = (at - axis.from) / (axis.to - axis.from);
  return Math.min(100, Math.max(0, share * 100));
}

function span(axis: TimeAxis, from: number, to: number | undefined) {
  const left = position(axis, from);
  const right = position(axis, to ?? axis.to);
  return { left: `${left}%`, width: `${Math.max(0, right - left)}%` };
}

function during(from: number, to: number | undefined): string {
  if (to === undefined) return `${formatTime(from)} – now (still going)`;
  return `${formatTime(from)} – ${formatTime(to)} (${formatDuration(to - from)})`;
}

const stateWords: Record<MachineLane['segments'][number]['state'], string> = {
  old: 'ran',
  deploying: 'deploying',
  new: 'ran',
  failed: 'failed to deploy',
  rolling_back: 'rolling back to',
  rolled_back: 'rolled back to',
};

function Axis({ axis }: { axis: TimeAxis }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((share) => axis.from + share * (axis.to - axis.from));
  return (
    <div class="timeline-row timeline-axis">
      <span class="timeline-gutter" />
      <div class="timeline-track">
        {ticks.map((at, index) => (
          <span
            key={index}
            class="timeline-tick"
            style={{ left: `${position(axis, at)}%` }}
            title={formatTime(at)}
          >
            {formatTime(at).slice(11)}
          </span>
        ))}
      </div>
    </div>
  );
}

function Phases({ axis, phases }: { axis: TimeAxis; phases: readonly ReleasePhase[] }) {
  return (
    <div class="timeline-row timeline-phases">
      <span class="timeline-gutter">phases</span>
      <div class="timeline-track">
        {phases.map((phase) => (
          <div
            key={`${phase.kind}-${phase.batch ?? ''}-${phase.from}`}
            class={`timeline-phase phase-${phase.kind}${phase.to === undefined ? ' phase-open' : ''}`}
            data-testid="timeline-phase"
            data-kind={phase.kind}
            data-batch={phase.batch === undefined ? undefined : String(phase.batch)}
            data-from={String(phase.from)}
            data-to={phase.to === undefined ? undefined : String(phase.to)}
            style={span(axis, phase.from, phase.to)}
            title={`${phase.label}: ${during(phase.from, phase.to)}`}
          >
            <span class="timeline-phase-label">{phase.label}</span>
          </div>
        ))}
      </div>
    </div>
  );
}

function Lane({ axis, lane }: { axis: TimeAxis; lane: MachineLane }) {
  return (
    <div
      class="timeline-row timeline-lane"
      data-testid="machine-lane"
      data-machine={lane.machine_id}
      data-batch={String(lane.batch)}
    >
      <span class="timeline-gutter" title={lane.batch === 0 ? 'the gray machine' : undefined}>
        {lane.machine_id}
        <span class="muted"> {lane.batch === 0 ? 'gray' : `b${lane.batch}`}</span>
      </span>
      <div class="timeline-track">
        {lane.segments.map((segment) => (
          <div
            key={`${segment.state}-${segment.from}`}
            class={`lane-segment lane-${segment.state}`}
            data-testid="lane-segment"
            data-version={segment.version}
            data-state={segment.state}
            style={span(axis, segment.from, segment.to)}
            title={`${lane.machine_id} ${stateWords[segment.state]} ${segment.version || 'nothing'}: ${during(segment.from, segment.to)}`}
          >
            <span class="lane-version">{segment.version || '—'}</span>
          </div>
        ))}
      </div>
    </div>
  );
}

function Evaluations({
  axis,
  evaluations,
}: {
  axis: TimeAxis;
  evaluations: readonly GuardEvaluationRecord[];
}) {
  return (
    <div class="timeline-row timeline-evaluations" data-testid="evaluation-row">
      <span class="timeline-gutter">guard</span>
      <div class="timeline-track">
        {evaluations.map((evaluation) => {
          const mark = evaluationMark(evaluation);
          const failing = evaluation.results
            .filter((result) => result.verdict !== 'pass')
            .map((result) => result.message);
          return (
            <span
              key={evaluation.at}
              class={`evaluation-mark verdict-${mark}`}
              data-testid="evaluation-mark"
              data-verdict={mark}
              data-at={String(evaluation.at)}
              style={{ left: `${position(axis, evaluation.at)}%` }}
              title={`${formatTime(evaluation.at)}: ${mark}${failing.length > 0 ? `: ${failing.join('; ')}` : ''}`}
            />
          );
        })}
      </div>
    </div>
  );
}

function Markers({ axis, markers }: { axis: TimeAxis; markers: readonly ReleaseMarker[] }) {
  return (
    <div class="timeline-markers">
      {markers.map((marker, index) => (
        <span
          key={`${marker.kind}-${marker.at}`}
          class={`timeline-marker marker-${marker.kind}`}
          data-testid="chart-marker"
          data-kind={marker.kind}
          data-at={String(marker.at)}
          style={{ left: `${position(axis, marker.at)}%` }}
          title={`${marker.label} (${formatTime(marker.at)})`}
        >
          <span
            class="timeline-marker-label"
            // Staggered rows, so markers close in time do not print over each other; the
            // labels of markers near the right edge open to the left.
            style={{
              top: `${(index % 3) * 15}px`,
              ...(position(axis, marker.at) > 70 ? { left: 'auto', right: '3px' } : {}),
            }}
          >
            {marker.label}
          </span>
        </span>
      ))}
    </div>
  );
}

/**
 * The release on one time axis: its phases as bands, one lane per machine showing which
 * version it ran when, every evaluation of the metric guard marked by its verdict, and the
 * release's moments (start, gray deployed, each batch, the breach, the rollback) as markers.
 */
export function ReleaseTimelineView({
  timeline,
  axis,
  evaluations,
}: {
  timeline: ReleaseTimeline;
  axis: TimeAxis;
  evaluations: readonly GuardEvaluationRecord[];
}) {
  return (
    <section data-testid="release-timeline">
      <h2>Timeline</h2>
      <div class="timeline">
        <Axis axis={axis} />
        {/* The markers' labels sit in this row; their lines cross every row below. */}
        <div class="timeline-row timeline-moments">
          <span class="timeline-gutter">events</span>
        </div>
        <Phases axis={axis} phases={timeline.phases} />
        {timeline.lanes.map((lane) => (
          <Lane key={lane.machine_id} axis={axis} lane={lane} />
        ))}
        <Evaluations axis={axis} evaluations={evaluations} />
        <Markers axis={axis} markers={timeline.markers} />
      </div>
      <p class="timeline-legend muted">
        <span class="lane-segment lane-old" /> previous version{' '}
        <span class="lane-segment lane-deploying" /> deploying{' '}
        <span class="lane-segment lane-new" /> new version <span class="lane-segment lane-failed" />{' '}
        failed <span class="lane-segment lane-rolling_back" /> rolling back{' '}
        <span class="lane-segment lane-rolled_back" /> rolled back · guard:{' '}
        <span class="evaluation-mark verdict-pass" /> pass{' '}
        <span class="evaluation-mark verdict-fail" /> fail{' '}
        <span class="evaluation-mark verdict-no_data" /> no data{' '}
        <span class="evaluation-mark verdict-error" /> error{' '}
        <span class="evaluation-mark verdict-target_down" /> target down
      </p>
    </section>
  );
}

/** The timeline of a deployment as the api gives it (see domain/release-timeline.ts). */
export function timelineOf(deployment: DeploymentView): ReleaseTimeline {
  return releaseTimeline(deployment);
}
