import type { FaultClass } from './analysis-report';

/**
 * What a release's metrics say went wrong: which measured signals are anomalous (the new
 * version against its baseline) and what kind of fault they add up to. Pure: the analyzer
 * measures, these functions judge.
 */

/** The signals the heuristic analysis compares between the new version and its baseline. */
export type SignalName =
  'error_ratio' | 'latency_p99' | 'request_rate' | 'cpu' | 'memory' | 'event_loop_lag';

/** One signal measured over the release window, on the new version and on the baseline. */
export interface SignalMeasurement {
  signal: SignalName;
  /** The new version's value; undefined when it has no data. */
  observed?: number;
  /** The baseline's value; undefined when there is no baseline data. */
  baseline?: number;
  /** Requests the new version served for this series; judged only from `minRequests` up. */
  requests?: number;
}

/**
 * When a signal counts as anomalous. Rising signals must pass both `ratio × baseline` and
 * `floor` (and `minDelta` above the baseline), so that noise on an idle baseline (0.001 →
 * 0.003) is not a fault. Without baseline data only `absolute` can condemn a value.
 */
export interface AnomalyThreshold {
  /** `up`: bad when it rises (errors, latency); `down`: bad when it falls (traffic served). */
  direction: 'up' | 'down';
  /** Up: observed must reach ratio × baseline. Down: observed must fall to ratio × baseline. */
  ratio: number;
  /** Up: observed must reach it. Down: the baseline must reach it (too little traffic proves nothing). */
  floor: number;
  /** Up: observed - baseline must reach it. */
  minDelta?: number;
  /** Up, without baseline data: observed must reach it; unset means no verdict without a baseline. */
  absolute?: number;
  /** The new version must have served this many requests for the series to be judged. */
  minRequests?: number;
}

export const defaultAnomalyThresholds: Record<SignalName, AnomalyThreshold> = {
  // 2% of requests failing is worth a look only when the baseline fails far less.
  error_ratio: { direction: 'up', ratio: 3, floor: 0.02, absolute: 0.05, minRequests: 10 },
  // Below 100 ms a p99 that doubled rarely hurts anyone; 1 s hurts without any baseline.
  latency_p99: { direction: 'up', ratio: 1.5, floor: 0.1, absolute: 1, minRequests: 10 },
  // Requests dropped, hung or refused before they are counted show as less traffic served
  // than the old machines behind the same balancer; a balancer's unevenness stays within 30%.
  request_rate: { direction: 'down', ratio: 0.7, floor: 0.2 },
  // Cores per machine: an idle process wobbles between 0.01 and 0.05.
  cpu: { direction: 'up', ratio: 1.5, floor: 0.1, absolute: 0.8 },
  memory: { direction: 'up', ratio: 1.5, floor: 0, minDelta: 50 * 1024 * 1024, absolute: 2 ** 30 },
  event_loop_lag: { direction: 'up', ratio: 2, floor: 0.05, absolute: 0.2 },
};

/** The fault class each signal points at. */
export const signalFaultClass: Record<SignalName, FaultClass> = {
  error_ratio: 'errors',
  latency_p99: 'latency',
  request_rate: 'saturation',
  cpu: 'cpu',
  memory: 'memory',
  event_loop_lag: 'saturation',
};

export interface Anomaly {
  signal: SignalName;
  fault_class: FaultClass;
  observed: number;
  baseline?: number;
  /** observed / baseline; Infinity on a zero baseline, undefined without one. */
  ratio?: number;
  /**
   * 0.5 at the threshold, 0.75 at twice it, 1 at four times it and beyond (for a falling
   * signal, at a half and a quarter of it).
   */
  strength: number;
  /** Which threshold it passed, in words: "3.1x baseline and >= floor 0.02". */
  reason: string;
}

const clamp = (value: number, low: number, high: number): number =>
  Math.min(high, Math.max(low, value));

const hasNumber = (value: number | undefined): value is number =>
  value !== undefined && Number.isFinite(value);

const strengthPast = (howFar: number): number =>
  clamp(0.5 + 0.25 * Math.log2(Math.max(howFar, 1)), 0.5, 1);

const short = (value: number): string =>
  Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));

function howHigh(observed: number, baseline: number, ratio: number): string {
  if (observed === Infinity) return 'past the last histogram bucket';
  if (baseline === 0) return 'above a zero baseline';
  return `${short(ratio)}x baseline`;
}

function ratioOf(observed: number, baseline: number): number {
  if (baseline === 0) return observed === 0 ? 1 : Infinity;
  return observed / baseline;
}

/** The anomaly `measurement` shows under `thresholds`, or undefined when it shows none. */
export function detectAnomaly(
  measurement: SignalMeasurement,
  thresholds: Record<SignalName, AnomalyThreshold> = defaultAnomalyThresholds,
): Anomaly | undefined {
  const threshold = thresholds[measurement.signal];
  const { observed, baseline } = measurement;
  // NaN is 0/0 (no traffic) and judges nothing; +Inf is a real value (a p99 past the last bucket).
  if (observed === undefined || Number.isNaN(observed)) return undefined;
  if (
    threshold.minRequests !== undefined &&
    measurement.requests !== undefined &&
    measurement.requests < threshold.minRequests
  ) {
    return undefined;
  }
  const base = { signal: measurement.signal, fault_class: signalFaultClass[measurement.signal] };

  if (threshold.direction === 'down') {
    if (!hasNumber(baseline) || baseline < threshold.floor) return undefined;
    const limit = threshold.ratio * baseline;
    if (observed > limit) return undefined;
    const ratio = ratioOf(observed, baseline);
    return {
      ...base,
      observed,
      baseline,
      ratio,
      strength: observed === 0 ? 1 : strengthPast(limit / observed),
      reason: `${short(ratio)}x baseline <= ${short(threshold.ratio)}x`,
    };
  }

  // Nothing rises above a baseline that is already past the last bucket.
  if (baseline === Infinity) return undefined;
  if (!hasNumber(baseline)) {
    if (threshold.absolute === undefined || observed < threshold.absolute) return undefined;
    return {
      ...base,
      observed,
      strength: strengthPast(observed / threshold.absolute),
      reason: `>= ${short(threshold.absolute)} without a baseline`,
    };
  }

  const ratio = ratioOf(observed, baseline);
  const limit = Math.max(threshold.floor, threshold.ratio * baseline);
  if (observed < limit || ratio < threshold.ratio) return undefined;
  if (threshold.minDelta !== undefined && observed - baseline < threshold.minDelta) {
    return undefined;
  }
  return {
    ...base,
    observed,
    baseline,
    ratio,
    strength: limit > 0 ? strengthPast(observed / limit) : 1,
    reason: `${howHigh(observed, baseline, ratio)} and >= floor ${short(threshold.floor)}`,
  };
}

export interface FaultClassification {
  fault_class: FaultClass;
  /** 0..1: how clearly the anomalies point at `fault_class`; 0 for `unknown`. */
  strength: number;
  /** Every class with evidence, strongest first. */
  scores: { fault_class: FaultClass; score: number }[];
  /** Why this class, in a sentence. */
  reason: string;
}

/** Ties go to the class a person can act on most directly. */
const tieOrder: readonly FaultClass[] = ['errors', 'latency', 'cpu', 'memory', 'saturation'];

// A busy CPU or a growing heap slows every request and stalls the event loop: when they show
// beside latency or saturation they are the cause, not a second fault.
const resourceBonus = 0.15;
// Several series of one class (three routes slower at once) are more convincing than one.
const corroborationBonus = 0.1;
// The guard already judged its rules against thresholds a person chose.
const hintBonus = 0.25;
const hintAlone = 0.5;

/**
 * The fault class the anomalies add up to. Each class scores its strongest anomaly, plus a
 * little for each further one; `hints` (the classes of the guard's failing rules) add to a
 * class, or give it a score of its own when nothing was measured. cpu and memory win over the
 * latency and saturation they cause. No anomaly and no hint is `unknown`.
 */
export function classifyFault(
  anomalies: readonly Pick<Anomaly, 'fault_class' | 'strength'>[],
  hints: readonly FaultClass[] = [],
): FaultClassification {
  const scores = new Map<FaultClass, number>();
  for (const faultClass of tieOrder) {
    const strengths = anomalies
      .filter((anomaly) => anomaly.fault_class === faultClass)
      .map((anomaly) => anomaly.strength)
      .sort((a, b) => b - a);
    const [strongest] = strengths;
    let score =
      strongest === undefined ? 0 : strongest + corroborationBonus * (strengths.length - 1);
    if (hints.includes(faultClass)) score = score === 0 ? hintAlone : score + hintBonus;
    if (score > 0) scores.set(faultClass, score);
  }
  const symptoms = (scores.get('latency') ?? 0) > 0 || (scores.get('saturation') ?? 0) > 0;
  if (symptoms) {
    for (const resource of ['cpu', 'memory'] as const) {
      const score = scores.get(resource);
      if (score !== undefined) scores.set(resource, score + resourceBonus);
    }
  }

  const ranked = [...scores.entries()]
    .map(([faultClass, score]) => ({ fault_class: faultClass, score: Math.min(1, score) }))
    .sort(
      (a, b) =>
        b.score - a.score || tieOrder.indexOf(a.fault_class) - tieOrder.indexOf(b.fault_class),
    );
  const [top, runnerUp] = ranked;
  if (top === undefined) {
    return {
      fault_class: 'unknown',
      strength: 0,
      scores: [],
      reason: 'no signal moved past its threshold and the guard named no metric',
    };
  }
  // A close second class makes the call less certain than the top score alone says.
  const strength = runnerUp === undefined ? top.score : top.score - runnerUp.score * 0.25;
  const others =
    runnerUp === undefined
      ? ''
      : `, ahead of ${ranked
          .slice(1)
          .map((entry) => `${entry.fault_class} (${short(entry.score)})`)
          .join(', ')}`;
  return {
    fault_class: top.fault_class,
    strength: clamp(strength, 0, 1),
    scores: ranked,
    reason: `${top.fault_class} scores ${short(top.score)}${others}`,
  };
}

/** The fault class a guard rule's metric measures, if it names one. */
export function ruleMetricFaultClass(metric: string): FaultClass | undefined {
  switch (metric) {
    case 'error_rate':
      return 'errors';
    case 'latency_p99':
      return 'latency';
    case 'cpu':
      return 'cpu';
    case 'memory':
      return 'memory';
    default:
      return undefined;
  }
}
