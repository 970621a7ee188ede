import type { MetricSeries } from '../prometheus-series';

/**
 * The errors series of one version (or one machine of it) with zeros where it served traffic
 * and answered no 5xx: every timestamp at which a rate series has a value and an errors series
 * has no sample gets 0. With no errors series at all there is one, of zeros, labelled `labels`.
 * Without a rate sample there is nothing to fill: no traffic is no data, not zero.
 *
 * Filled here rather than with PromQL's `(<errors>) or (<rate> * 0)`: `or` adds the zero
 * series per label set, so it only stands in for "no 5xx" when the errors template groups
 * exactly as the rate template does. An errors template `sum by (status) (…)` beside a plain
 * `sum(…)` rate would get a separate zero line beside its real ones, and the real ones would
 * keep their gaps between 5xx bursts. Filling from the rate's own timestamps works whatever the
 * user's templates group by, and leaves their queries as they wrote them (what `queries` shows).
 */
export function fillErrorZeros(
  rate: readonly MetricSeries[],
  errors: readonly MetricSeries[],
  labels: Record<string, string>,
): MetricSeries[] {
  const served = new Set<number>();
  for (const series of rate) {
    series.timestamps.forEach((time, index) => {
      if (series.values[index] !== null && series.values[index] !== undefined) served.add(time);
    });
  }
  if (served.size === 0) return [...errors];
  const times = [...served].sort((a, b) => a - b);
  if (errors.length === 0) {
    return [{ labels, timestamps: times, values: times.map(() => 0) }];
  }
  return errors.map((series) => {
    const byTime = new Map<number, number | null>();
    series.timestamps.forEach((time, index) => byTime.set(time, series.values[index] ?? null));
    for (const time of times) if (!byTime.has(time)) byTime.set(time, 0);
    const timestamps = [...byTime.keys()].sort((a, b) => a - b);
    return {
      labels: series.labels,
      timestamps,
      values: timestamps.map((time) => byTime.get(time) ?? null),
    };
  });
}
