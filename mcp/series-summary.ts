/**
 * What an investigator needs from a series over a window, in a few numbers instead of its
 * points: its range, where it started and ended, when it peaked, and which way it went.
 */
export type Trend = 'rising' | 'falling' | 'flat';

export interface SeriesSummary {
  /** Every sample, NaN and ±Inf included. */
  points: number;
  /** NaN and ±Inf samples, which the statistics leave out. */
  nonFinite: number;
  /** The statistics are absent when no sample is finite. */
  min?: number;
  max?: number;
  /** Rounded to 6 significant digits: the rest is floating-point noise. */
  avg?: number;
  first?: number;
  last?: number;
  /** Epoch ms of the first sample that reached `max`. */
  maxAt?: number;
  trend?: Trend;
}

/**
 * How far the least-squares line must move over the window, relative to the series' scale,
 * to count as a trend. 10% keeps a noisy but level series flat and still calls a doubled
 * error rate rising.
 */
export const TREND_THRESHOLD = 0.1;

/**
 * The least-squares slope times the window's length, relative to the series' scale: the
 * larger of its mean's magnitude and its range, so that a level series far from zero and a
 * series that swings around zero are both judged by what a person would call a big move.
 */
export function trendOf(samples: readonly { timestamp: number; value: number }[]): Trend {
  if (samples.length < 2) return 'flat';
  const n = samples.length;
  let meanTime = 0;
  let meanValue = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const { timestamp, value } of samples) {
    meanTime += timestamp / n;
    meanValue += value / n;
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  let covariance = 0;
  let variance = 0;
  for (const { timestamp, value } of samples) {
    covariance += (timestamp - meanTime) * (value - meanValue);
    variance += (timestamp - meanTime) ** 2;
  }
  const scale = Math.max(Math.abs(meanValue), max - min);
  if (variance === 0 || scale === 0) return 'flat';
  const first = samples[0];
  const last = samples[n - 1];
  if (first === undefined || last === undefined) return 'flat';
  const change = (covariance / variance) * (last.timestamp - first.timestamp);
  const relative = change / scale;
  if (relative > TREND_THRESHOLD) return 'rising';
  if (relative < -TREND_THRESHOLD) return 'falling';
  return 'flat';
}

/** The summary of one series' samples, oldest first (as Prometheus returns them). */
export function summarizeSeries(
  samples: readonly { timestamp: number; value: number }[],
): SeriesSummary {
  const finite = samples.filter((sample) => Number.isFinite(sample.value));
  const summary: SeriesSummary = {
    points: samples.length,
    nonFinite: samples.length - finite.length,
  };
  const first = finite[0];
  const last = finite[finite.length - 1];
  if (first === undefined || last === undefined) return summary;

  let min = first.value;
  let peak = first;
  let sum = 0;
  for (const sample of finite) {
    min = Math.min(min, sample.value);
    if (sample.value > peak.value) peak = sample;
    sum += sample.value;
  }
  return {
    ...summary,
    min,
    max: peak.value,
    avg: Number((sum / finite.length).toPrecision(6)),
    first: first.value,
    last: last.value,
    maxAt: peak.timestamp,
    trend: trendOf(finite),
  };
}
