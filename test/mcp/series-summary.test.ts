import { describe, expect, it } from 'vitest';
import { summarizeSeries, trendOf, type Trend } from '../../mcp/series-summary';

/** Samples every 15 s from t0, one per value. */
const T0 = 1_700_000_000_000;
const series = (...values: number[]) =>
  values.map((value, index) => ({ timestamp: T0 + index * 15_000, value }));
const noise = [0.2, 0.21, 0.19, 0.2, 0.22, 0.18, 0.2, 0.21, 0.19, 0.2];

describe('trendOf', () => {
  it.each<[string, number[], Trend]>([
    ['a single point', [5], 'flat'],
    ['a constant series', [3, 3, 3, 3], 'flat'],
    ['a constant zero series', [0, 0, 0], 'flat'],
    ['a steady climb', [1, 2, 3, 4, 5], 'rising'],
    ['a steady fall', [5, 4, 3, 2, 1], 'falling'],
    ['an error rate that steps up half way', [0.01, 0.01, 0.01, 0.3, 0.3, 0.3], 'rising'],
    ['latency that recovers', [0.9, 0.9, 0.8, 0.2, 0.2, 0.2], 'falling'],
    ['noise around a level', noise, 'flat'],
    // 1% of its level: a raw counter that creeps up is level; rate() shows its trend.
    ['a large counter creeping up', [1000, 1002, 1004, 1006, 1008, 1010], 'flat'],
    ['a spike in the middle', [1, 1, 1, 9, 1, 1, 1], 'flat'],
    ['a series swinging around zero, rising', [-1, -0.5, 0, 0.5, 1], 'rising'],
    ['a negative series falling', [-1, -2, -3, -4], 'falling'],
  ])('%s is %s', (_name, values, expected) => {
    expect(trendOf(series(...values))).toBe(expected);
  });

  it('calls a move just past the threshold a trend and one just below it flat', () => {
    // A line moves by exactly its slope times the window; scale is max(|mean|, range).
    expect(trendOf(series(100, 100 + 12))).toBe('rising');
    expect(trendOf(series(100, 100 + 9))).toBe('flat');
  });
});

describe('summarizeSeries', () => {
  it.each([
    [
      'a rising series',
      series(1, 4, 2, 8, 5),
      {
        points: 5,
        nonFinite: 0,
        min: 1,
        max: 8,
        avg: 4,
        first: 1,
        last: 5,
        maxAt: T0 + 45_000,
        trend: 'rising',
      },
    ],
    [
      'the first of two equal peaks',
      series(2, 7, 7, 2),
      {
        points: 4,
        nonFinite: 0,
        min: 2,
        max: 7,
        avg: 4.5,
        first: 2,
        last: 2,
        maxAt: T0 + 15_000,
        trend: 'flat',
      },
    ],
    [
      'one point',
      series(0.5),
      {
        points: 1,
        nonFinite: 0,
        min: 0.5,
        max: 0.5,
        avg: 0.5,
        first: 0.5,
        last: 0.5,
        maxAt: T0,
        trend: 'flat',
      },
    ],
    [
      'NaN and infinities left out of the statistics',
      series(NaN, 3, Infinity, 1, -Infinity),
      {
        points: 5,
        nonFinite: 3,
        min: 1,
        max: 3,
        avg: 2,
        first: 3,
        last: 1,
        maxAt: T0 + 15_000,
        trend: 'falling',
      },
    ],
    ['no finite sample', series(NaN, NaN), { points: 2, nonFinite: 2 }],
    ['no sample', [], { points: 0, nonFinite: 0 }],
  ])('%s', (_name, samples, expected) => {
    expect(summarizeSeries(samples)).toEqual(expected);
  });

  it('rounds the average to 6 significant digits and keeps the samples exact', () => {
    const summary = summarizeSeries(series(0.1, 0.2, 1 / 3));
    expect(summary.avg).toBe(0.211111);
    expect(summary.last).toBe(1 / 3);
  });
});
