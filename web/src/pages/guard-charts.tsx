import { Chart, type ChartBand, type ChartLine, type ChartMarker } from '../components/chart';
import { formatTime, formatValue, ruleUnit } from '../format';
import type { GuardEvaluationRecord, RuleResultRecord } from '../types';
import './release-timeline.css';

interface RulePoint {
  at: number;
  result: RuleResultRecord;
}

/**
 * The limit a rule's value was held to at one evaluation: the threshold, or for a rule
 * relative to the old version, threshold × that version's value (when it had one).
 */
export function limitOf(result: RuleResultRecord): number | null {
  if (result.baseline_promql === undefined) return result.threshold;
  return result.baseline === undefined ? null : result.threshold * result.baseline;
}

function byRule(evaluations: readonly GuardEvaluationRecord[]): Map<string, RulePoint[]> {
  const rules = new Map<string, RulePoint[]>();
  for (const evaluation of evaluations) {
    for (const result of evaluation.results) {
      // Appended in place: a running release's page regroups up to 500 evaluations per poll.
      const points = rules.get(result.rule);
      const point = { at: evaluation.at, result };
      if (points === undefined) rules.set(result.rule, [point]);
      else points.push(point);
    }
  }
  return rules;
}

function lines(points: readonly RulePoint[]): ChartLine[] {
  const timestamps = points.map((point) => point.at);
  const relative = points.some((point) => point.result.baseline_promql !== undefined);
  const chart: ChartLine[] = [
    {
      label: 'value',
      timestamps,
      values: points.map((point) => point.result.value ?? null),
      color: '#2563eb',
    },
    {
      label: relative ? 'limit (threshold × old version)' : 'threshold',
      timestamps,
      values: points.map((point) => limitOf(point.result)),
      color: '#dc2626',
      dashed: true,
    },
  ];
  if (relative) {
    chart.push({
      label: 'old version',
      timestamps,
      values: points.map((point) => point.result.baseline ?? null),
      color: '#6b7280',
    });
  }
  return chart;
}

/** The time the charts show (epoch ms), shared with the release's timeline. */
export interface GuardAxis {
  from: number;
  to: number;
}

/** Each evaluation of one rule, marked by its verdict where it happened on the time axis. */
function RuleEvaluations({ points, axis }: { points: readonly RulePoint[]; axis: GuardAxis }) {
  const at = (time: number) =>
    Math.min(100, Math.max(0, ((time - axis.from) / (axis.to - axis.from)) * 100));
  return (
    <div class="timeline-row" data-testid="verdict-strip">
      <span class="timeline-gutter muted">verdicts</span>
      <div class="timeline-track rule-evaluations">
        {points.map((point) => (
          <span
            key={point.at}
            class={`evaluation-mark verdict-${point.result.verdict}`}
            data-testid="rule-evaluation-mark"
            data-rule={point.result.rule}
            data-verdict={point.result.verdict}
            data-at={String(point.at)}
            style={{ left: `${at(point.at)}%` }}
            title={`${formatTime(point.at)}: ${point.result.message}`}
          />
        ))}
      </div>
    </div>
  );
}

/** The last evaluations' verdicts as a strip of cells, newest on the right. */
function VerdictStrip({ points }: { points: readonly RulePoint[] }) {
  return (
    <div class="verdicts" data-testid="verdict-strip">
      {points.slice(-120).map((point) => (
        <span
          key={point.at}
          class={`verdict verdict-${point.result.verdict}`}
          title={`${formatTime(point.at)}: ${point.result.message}`}
        />
      ))}
    </div>
  );
}

/**
 * Per rule of the policy: its value at each evaluation against its threshold, and verdicts.
 * With an axis (the release page's timeline), the charts share its time, phases and markers,
 * and each evaluation's verdict is marked where it happened.
 */
export function GuardCharts({
  evaluations,
  axis,
  bands,
  markers,
}: {
  evaluations: readonly GuardEvaluationRecord[];
  axis?: GuardAxis;
  bands?: readonly ChartBand[];
  markers?: readonly ChartMarker[];
}) {
  const rules = byRule(evaluations);
  const last = evaluations.at(-1);
  return (
    <section class={axis === undefined ? undefined : 'guard-on-timeline'}>
      <h2>Metric guard</h2>
      {last === undefined ? (
        <p class="muted">The guard has not evaluated this release (yet).</p>
      ) : (
        <p>
          {evaluations.length} evaluation(s); the last at {formatTime(last.at)}:{' '}
          <span class={`verdict-word verdict-${last.verdict}`}>{last.verdict}</span>
          {last.instances.length > 0 && <> on {last.instances.join(', ')}</>}
        </p>
      )}
      <div class="charts">
        {[...rules.entries()].map(([rule, points]) => {
          const latest = points.at(-1)!.result;
          const unit = ruleUnit(latest.metric);
          return (
            <div key={rule} class="guard-rule">
              <Chart
                testid="guard-chart"
                data={{ rule }}
                title={`${rule} (${latest.operator} ${formatValue(latest.threshold, latest.baseline_promql === undefined ? unit : '')}${latest.baseline_promql === undefined ? '' : ' × old'})`}
                unit={unit}
                lines={lines(points)}
                height={150}
                empty="no value yet: no data at any evaluation"
                {...(axis === undefined ? {} : { xRange: [axis.from, axis.to] as const })}
                {...(bands === undefined ? {} : { bands })}
                {...(markers === undefined ? {} : { markers })}
              />
              {axis === undefined ? (
                <VerdictStrip points={points} />
              ) : (
                <RuleEvaluations points={points} axis={axis} />
              )}
              <p class="rule-message">{latest.message}</p>
            </div>
          );
        })}
      </div>
    </section>
  );
}
