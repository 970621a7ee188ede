import { describe, expect, it } from 'vitest';
import type { FaultClass } from '../../domain';
import {
  classifyFault,
  detectAnomaly,
  ruleMetricFaultClass,
  type Anomaly,
  type SignalMeasurement,
} from '../../domain/fault-class';

const MB = 1024 * 1024;

describe('detectAnomaly', () => {
  it.each<[string, SignalMeasurement, { strength: number; reason: string } | undefined]>([
    // error ratio: floor 2%, 3x the baseline, 10 requests at least
    [
      'errors over a zero baseline',
      { signal: 'error_ratio', observed: 0.3, baseline: 0, requests: 200 },
      { strength: 1, reason: 'above a zero baseline and >= floor 0.02' },
    ],
    [
      'errors just past the floor',
      { signal: 'error_ratio', observed: 0.02, baseline: 0 },
      { strength: 0.5, reason: 'above a zero baseline and >= floor 0.02' },
    ],
    [
      'errors 4x a noisy baseline',
      { signal: 'error_ratio', observed: 0.2, baseline: 0.05, requests: 200 },
      { strength: 0.5 + 0.25 * Math.log2(0.2 / 0.15), reason: '4x baseline and >= floor 0.02' },
    ],
    ['errors under the floor', { signal: 'error_ratio', observed: 0.01, baseline: 0 }, undefined],
    [
      'errors only 2x the baseline',
      { signal: 'error_ratio', observed: 0.1, baseline: 0.05 },
      undefined,
    ],
    [
      'errors on too few requests',
      { signal: 'error_ratio', observed: 0.5, baseline: 0, requests: 4 },
      undefined,
    ],
    [
      'errors without a baseline, past the absolute limit',
      { signal: 'error_ratio', observed: 0.2 },
      { strength: 0.5 + 0.25 * Math.log2(4), reason: '>= 0.05 without a baseline' },
    ],
    ['errors without a baseline, below it', { signal: 'error_ratio', observed: 0.04 }, undefined],
    ['no data (0/0)', { signal: 'error_ratio', observed: NaN, baseline: 0 }, undefined],
    ['no series', { signal: 'error_ratio', baseline: 0 }, undefined],
    // latency p99: floor 100 ms, 1.5x
    [
      'p99 10x the baseline',
      { signal: 'latency_p99', observed: 0.48, baseline: 0.048, requests: 100 },
      { strength: 1, reason: '10x baseline and >= floor 0.1' },
    ],
    [
      'p99 doubled but under the floor',
      { signal: 'latency_p99', observed: 0.09, baseline: 0.045 },
      undefined,
    ],
    ['p99 1.4x the baseline', { signal: 'latency_p99', observed: 0.7, baseline: 0.5 }, undefined],
    [
      'p99 past the last bucket',
      { signal: 'latency_p99', observed: Infinity, baseline: 0.05 },
      { strength: 1, reason: 'past the last histogram bucket and >= floor 0.1' },
    ],
    [
      'p99 past the last bucket on both',
      { signal: 'latency_p99', observed: Infinity, baseline: Infinity },
      undefined,
    ],
    // cpu cores per machine: floor 0.1, 1.5x
    [
      'cpu from 0.03 to 0.9 cores',
      { signal: 'cpu', observed: 0.9, baseline: 0.03 },
      { strength: 1, reason: '30x baseline and >= floor 0.1' },
    ],
    ['cpu noise on an idle machine', { signal: 'cpu', observed: 0.05, baseline: 0.01 }, undefined],
    // memory: 1.5x and 50 MB more
    [
      'memory from 80 MB to 400 MB',
      { signal: 'memory', observed: 400 * MB, baseline: 80 * MB },
      { strength: 0.5 + 0.25 * Math.log2(400 / 120), reason: '5x baseline and >= floor 0' },
    ],
    [
      'memory 1.6x but only 30 MB more',
      { signal: 'memory', observed: 80 * MB, baseline: 50 * MB },
      undefined,
    ],
    // event-loop lag: 2x, floor 50 ms
    [
      'event-loop lag from 11 ms to 300 ms',
      { signal: 'event_loop_lag', observed: 0.3, baseline: 0.011 },
      { strength: 1, reason: '27.3x baseline and >= floor 0.05' },
    ],
    // request rate per machine falls: 70% of the baseline or less
    [
      'requests served fall to a third',
      { signal: 'request_rate', observed: 2, baseline: 6 },
      { strength: 0.5 + 0.25 * Math.log2(2.1), reason: '0.333x baseline <= 0.7x' },
    ],
    [
      'no request served at all',
      { signal: 'request_rate', observed: 0, baseline: 6 },
      { strength: 1, reason: '0x baseline <= 0.7x' },
    ],
    ['requests down 20%', { signal: 'request_rate', observed: 4.8, baseline: 6 }, undefined],
    [
      'too little baseline traffic to tell',
      { signal: 'request_rate', observed: 0, baseline: 0.1 },
      undefined,
    ],
  ])('%s', (_title, measurement, expected) => {
    const anomaly = detectAnomaly(measurement);
    if (expected === undefined) {
      expect(anomaly).toBeUndefined();
      return;
    }
    expect(anomaly?.reason).toBe(expected.reason);
    expect(anomaly?.strength).toBeCloseTo(expected.strength, 5);
    expect(anomaly?.observed).toBe(measurement.observed);
  });

  it('names the class each signal points at', () => {
    const classOf = (measurement: SignalMeasurement) => detectAnomaly(measurement)?.fault_class;
    expect(classOf({ signal: 'error_ratio', observed: 1, baseline: 0 })).toBe('errors');
    expect(classOf({ signal: 'latency_p99', observed: 1, baseline: 0.1 })).toBe('latency');
    expect(classOf({ signal: 'cpu', observed: 1, baseline: 0.1 })).toBe('cpu');
    expect(classOf({ signal: 'memory', observed: 500 * MB, baseline: 50 * MB })).toBe('memory');
    expect(classOf({ signal: 'event_loop_lag', observed: 1, baseline: 0.01 })).toBe('saturation');
    expect(classOf({ signal: 'request_rate', observed: 0, baseline: 5 })).toBe('saturation');
  });

  it('takes thresholds of the caller', () => {
    const strict = { signal: 'error_ratio' as const, observed: 0.01, baseline: 0 };
    expect(detectAnomaly(strict)).toBeUndefined();
    const thresholds = {
      error_ratio: { direction: 'up' as const, ratio: 2, floor: 0.005 },
      latency_p99: { direction: 'up' as const, ratio: 1.5, floor: 0.1 },
      request_rate: { direction: 'down' as const, ratio: 0.7, floor: 0.2 },
      cpu: { direction: 'up' as const, ratio: 1.5, floor: 0.1 },
      memory: { direction: 'up' as const, ratio: 1.5, floor: 0 },
      event_loop_lag: { direction: 'up' as const, ratio: 2, floor: 0.05 },
    };
    expect(detectAnomaly(strict, thresholds)?.fault_class).toBe('errors');
  });
});

const anomaly = (
  fault_class: FaultClass,
  strength: number,
): Pick<Anomaly, 'fault_class' | 'strength'> => ({
  fault_class,
  strength,
});

describe('classifyFault', () => {
  it.each<[string, Pick<Anomaly, 'fault_class' | 'strength'>[], FaultClass[], FaultClass, number]>([
    ['nothing moved', [], [], 'unknown', 0],
    ['errors alone', [anomaly('errors', 1)], [], 'errors', 1],
    ['latency alone', [anomaly('latency', 0.75)], [], 'latency', 0.75],
    // Three slow routes convince more than one.
    [
      'latency on three routes',
      [anomaly('latency', 0.6), anomaly('latency', 0.5), anomaly('latency', 0.5)],
      [],
      'latency',
      0.8,
    ],
    // A busy CPU explains the slow requests: cpu wins over the latency it causes.
    [
      'cpu with the latency it causes',
      [anomaly('latency', 0.8), anomaly('cpu', 0.7)],
      [],
      'cpu',
      0.85 - 0.8 * 0.25,
    ],
    [
      'memory with event-loop stalls',
      [anomaly('saturation', 0.6), anomaly('memory', 0.6)],
      [],
      'memory',
      0.75 - 0.6 * 0.25,
    ],
    // No symptom beside it: a strong error signal beats a slight CPU rise.
    [
      'errors beside a slight cpu rise',
      [anomaly('errors', 1), anomaly('cpu', 0.5)],
      [],
      'errors',
      1 - 0.5 * 0.25,
    ],
    // The guard's failing rule breaks the tie and adds to the measured evidence.
    [
      'errors and latency even, the guard failed on latency',
      [anomaly('errors', 0.6), anomaly('latency', 0.6)],
      ['latency'],
      'latency',
      0.85 - 0.6 * 0.25,
    ],
    [
      'even, no hint: errors first',
      [anomaly('latency', 0.6), anomaly('errors', 0.6)],
      [],
      'errors',
      0.6 - 0.6 * 0.25,
    ],
    // Nothing measured, but the guard judged its rule: a hint alone is half a case.
    ['only the guard', [], ['errors'], 'errors', 0.5],
  ])('%s → %s', (_title, anomalies, hints, faultClass, strength) => {
    const result = classifyFault(anomalies, hints);
    expect(result.fault_class).toBe(faultClass);
    expect(result.strength).toBeCloseTo(strength, 5);
  });

  it('ranks every class with evidence and says why', () => {
    const result = classifyFault([anomaly('latency', 0.8), anomaly('cpu', 0.7)]);
    expect(result.scores.map((entry) => entry.fault_class)).toEqual(['cpu', 'latency']);
    expect(result.reason).toBe('cpu scores 0.85, ahead of latency (0.8)');
    expect(classifyFault([]).reason).toBe(
      'no signal moved past its threshold and the guard named no metric',
    );
  });
});

describe('ruleMetricFaultClass', () => {
  it.each([
    ['error_rate', 'errors'],
    ['latency_p99', 'latency'],
    ['cpu', 'cpu'],
    ['memory', 'memory'],
    ['custom', undefined],
  ])('%s → %s', (metric, faultClass) => {
    expect(ruleMetricFaultClass(metric)).toBe(faultClass);
  });
});
