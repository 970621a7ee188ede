import { describe, expect, it } from 'vitest';
import { PacerConfig, RollbackPolicy } from '../../domain';
import {
  dataGraceMs,
  minJudgedEvaluations,
  shortestJudgedWaitSeconds,
  unjudgeableTiming,
  verifySeconds,
} from '../../domain/guard-timing';
import { judgeTargets, type TargetObservation } from '../../domain/target-health';

const policy = (fields: Partial<RollbackPolicy> = {}) => RollbackPolicy.parse(fields);

describe('guard timing', () => {
  it('derives the grace from discovery, the rate window and two scrapes', () => {
    expect(dataGraceMs({ scrapeIntervalSeconds: 15, rangeSeconds: 60 })).toBe(95_000);
    expect(dataGraceMs({ scrapeIntervalSeconds: 1, rangeSeconds: 5 })).toBe(12_000);
  });

  it.each([
    [{}, 90], // 2 x 15 s x 3
    [{ interval_seconds: 5, consecutive_breaches: 2 }, 60], // 20 s, raised to the minute
    [{ verify_seconds: 10 }, 10],
    [{ verify_seconds: 0 }, 0],
  ])('verification window of %j is %i s', (fields, seconds) => {
    expect(verifySeconds(policy(fields))).toBe(seconds);
  });

  it('needs consecutive_breaches judged evaluations unless told otherwise', () => {
    expect(minJudgedEvaluations(policy({ consecutive_breaches: 4 }))).toBe(4);
    expect(minJudgedEvaluations(policy({ min_judged_evaluations: 6 }))).toBe(6);
  });

  it('states the shortest judged wait', () => {
    // 5 + 60 + 2 x 15 = 95 s of grace, then 3 evaluations 15 s apart.
    const timing = { scrapeIntervalSeconds: 15, rangeSeconds: 60 };
    expect(shortestJudgedWaitSeconds(policy(), timing)).toBe(140);
  });

  const app = (fields: Partial<RollbackPolicy>) => ({
    rollback_policy: policy(fields),
    pacer: PacerConfig.parse({ gray_bake_seconds: 0, interval_seconds: 0 }),
  });

  it.each([
    ['a default policy', {}, 60, []],
    ['a disabled guard judges nothing by choice', { enabled: false, verify_seconds: 1 }, 5, []],
    ['a rate window of one scrape', {}, 15, [['red_metrics_config']]],
    [
      'a verification window shorter than the breaches',
      { verify_seconds: 20 },
      60,
      [['rollback_policy', 'verify_seconds']],
    ],
    [
      'fewer judged evaluations than breaches',
      { min_judged_evaluations: 1 },
      60,
      [['rollback_policy', 'min_judged_evaluations']],
    ],
  ] as const)('%s', (_name, fields, rangeSeconds, paths) => {
    const issues = unjudgeableTiming(app(fields), { scrapeIntervalSeconds: 15, rangeSeconds });
    expect(issues.map((issue) => issue.path)).toEqual(paths);
    for (const issue of issues) expect(issue.message.length).toBeGreaterThan(40);
  });

  it('is not fooled by a fast pacer: the pacer is no reason to refuse', () => {
    expect(unjudgeableTiming(app({}), { scrapeIntervalSeconds: 1, rangeSeconds: 5 })).toEqual([]);
  });
});

describe('judgeTargets', () => {
  const ctx = {
    version: 'v2',
    at: Date.UTC(2026, 11, 6, 5, 0, 30),
    graceMs: 10_000,
    otherMachineUp: true,
    promql: 'up{app="shop"}',
  };
  const healthy = { healthy: true };
  const machine = (fields: Partial<TargetObservation>): TargetObservation => ({
    machineId: 'm1',
    health: healthy,
    ...fields,
  });

  it.each([
    ['scraped and healthy', [machine({ up: 1 })], ctx, 'pass', /1 machine\(s\) on v2 answer/],
    [
      'down after answering',
      [machine({ up: 0, lastUpAt: Date.UTC(2026, 11, 6, 5, 0, 2) })],
      ctx,
      'fail',
      /^target_down: machine m1 \(version v2\) stopped answering Prometheus scrapes at 2026-12-06T05:00:02Z \(up == 0\)$/,
    ],
    [
      'down from its deploy while the others answer',
      [machine({ up: 0 })],
      ctx,
      'fail',
      /machine m1 \(version v2\) has not answered a Prometheus scrape since its deploy/,
    ],
    [
      'down, and no machine ever answered: cannot tell',
      [machine({ up: 0 })],
      { ...ctx, otherMachineUp: false },
      'error',
      /cannot tell the version from the way to it/,
    ],
    [
      'health check failing while scraped',
      [machine({ up: 1, health: { healthy: false, error: 'ECONNREFUSED' } })],
      ctx,
      'fail',
      /machine m1 \(version v2\) failed its health check \(ECONNREFUSED\)$/,
    ],
    [
      'dead and unscraped: the health check decides',
      [machine({ health: { healthy: false, error: 'ECONNREFUSED' } })],
      { ...ctx, otherMachineUp: false },
      'fail',
      /failed its health check/,
    ],
    [
      'not discovered yet, within the grace',
      [machine({ deployedAt: ctx.at - 5_000 })],
      ctx,
      'pass',
      /answer/,
    ],
    [
      'never discovered, past the grace',
      [machine({ deployedAt: ctx.at - 60_000 })],
      ctx,
      'error',
      /not scraped by Prometheus 60 s after its deploy/,
    ],
  ] as const)('%s', (_name, observations, context, verdict, message) => {
    const result = judgeTargets(observations, context);
    expect(result.verdict).toBe(verdict);
    expect(result.message).toMatch(message);
    expect(result).toMatchObject({ rule: 'target_down', metric: 'target', threshold: 0 });
  });

  it('names every sick machine and counts them', () => {
    const result = judgeTargets(
      [
        machine({ machineId: 'm1', up: 0, lastUpAt: ctx.at - 3_000 }),
        machine({ machineId: 'm2', up: 1 }),
        machine({ machineId: 'm3', up: 1, health: { healthy: false, error: 'HTTP 503' } }),
      ],
      ctx,
    );
    expect(result).toMatchObject({ verdict: 'fail', value: 2 });
    expect(result.message).toContain('machine m1 (version v2)');
    expect(result.message).toContain('machine m3 (version v2) failed its health check (HTTP 503)');
    expect(result.message).not.toContain('m2');
  });
});
