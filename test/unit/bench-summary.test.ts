import { format } from 'prettier';
import { describe, expect, it } from 'vitest';
import {
  benchFailed,
  benchNames,
  formatMs,
  markdownTable,
  parseResultLine,
  quickArgs,
  selectBenches,
  summaryRows,
  type BenchOutcome,
  type BenchResult,
} from '../../bench/summary';

/** Result lines as the benches print them. */
const results: Record<string, BenchResult> = {
  health: {
    bench: 'health',
    cores: 2,
    interval_seconds: 5,
    phases: [
      { phase: 'idle', machines: 1000, worker_cpu_share: 0.012 },
      {
        phase: 'full',
        machines: 1000,
        worker_cpu_share: 0.256,
        worker_cpu_ms_per_machine_check: 2.63,
        checks: 389,
        checks_ideal: 400,
        checks_ratio: 0.973,
      },
    ],
  },
  mockserver: {
    bench: 'mockserver',
    endpoint: 'GET /api/orders',
    concurrency: 32,
    seconds_per_server: 6,
    bare_rps: 14210,
    bare_p99_ms: 4.31,
    mockserver_rps: 11800,
    mockserver_p99_ms: 5.02,
    errors: 0,
    ratio: 0.83,
    target: 0.7,
    meets_target: true,
  },
  guard: {
    bench: 'guard',
    trials: 5,
    detection_median_ms: 4612,
    detection_floor_ms: 3000,
    detection_ratio: 1.54,
    detection_target_ratio: 2,
    rollback_median_ms: 670,
    one_machine_start_median_ms: 530,
    rollback_ratio: 1.26,
  },
  analysis: {
    bench: 'analysis',
    scenarios: 6,
    culprit_first: 5,
    culprit_first_share: 0.833,
    culprit_first_target: 0.8,
    class_right: 6,
    class_right_share: 1,
    queries: 10,
    queries_with_data: 9,
    queries_with_data_share: 0.9,
    queries_with_data_target: 1,
    meets_target: false,
  },
  'release-scale': {
    bench: 'release-scale',
    sizes: [
      { machines: 10, wall_ms: 9_800, ideal_ms: 8_900, ratio: 1.101, target: null },
      {
        machines: 100,
        wall_ms: 61_234,
        ideal_ms: 57_000,
        ratio: 1.074,
        target: 1.1,
        meets_target: true,
        history_events: 2_410,
        events_per_machine: 24.1,
        history_bytes: 1_200_000,
        worker_rss_peak_mb: 212,
      },
    ],
  },
  throughput: {
    bench: 'throughput',
    releases: 50,
    makespan_ms: 41_000,
    single_ms: 9_000,
    ratio: 4.56,
    releases_per_minute: 73.2,
    p50_ms: 30_100,
    p99_ms: 40_800,
  },
  api: {
    bench: 'api',
    connections: 50,
    seconds: 10,
    deployment_rps: 1450,
    deployment_p99_ms: 61,
    healthz_rps: 2100,
    healthz_p99_ms: 40,
    rps_ratio: 0.69,
    p99_ratio: 1.525,
    every_request_write_rps: 980,
    every_request_write_p99_ms: 95,
    throttle_rps_gain: 1.48,
    errors: 0,
  },
};

const outcome = (name: BenchOutcome['name'], exitCode = 0): BenchOutcome => ({
  name,
  exitCode,
  result: results[name],
});

describe('parseResultLine', () => {
  it.each([
    ['the last line', 'warming up\n{"bench":"api","x":1}\n', { bench: 'api', x: 1 }],
    ['after trailing blank lines', 'a\n{"bench":"b"}\n\n  \n', { bench: 'b' }],
    ['with carriage returns', 'a\r\n{"bench":"c"}\r\n', { bench: 'c' }],
    ['not an earlier JSON line', '{"bench":"old"}\ndone\n', undefined],
    ['not an array', '[1,2]\n', undefined],
    ['not broken JSON', '{"bench": \n', undefined],
    ['not nothing', '', undefined],
  ])('reads %s', (_, output, expected) => {
    expect(parseResultLine(output)).toEqual(expected);
  });
});

describe('selectBenches', () => {
  it('runs every bench in order without --only, and the named ones in that order with it', () => {
    expect(selectBenches(undefined)).toEqual([
      'mockserver',
      'guard',
      'analysis',
      'release-scale',
      'throughput',
      'api',
      'health',
    ]);
    expect(selectBenches('api, guard')).toEqual(['guard', 'api']);
    expect(selectBenches('api,')).toEqual(['api']);
  });

  it('refuses an unknown bench, naming it and the known ones', () => {
    expect(() => selectBenches('api,apis')).toThrow(
      'unknown bench apis; the benches are mockserver, guard, analysis, release-scale, throughput, api, health',
    );
  });

  it('has quick arguments, smaller sizes and trials, for every bench', () => {
    expect(Object.keys(quickArgs).sort()).toEqual([...benchNames].sort());
    expect(quickArgs['release-scale']).toEqual(['--sizes', '10,100']);
    expect(quickArgs.throughput).toEqual(['--releases', '10']);
    expect(quickArgs.guard).toEqual(['--trials', '2']);
    expect(quickArgs.api).toEqual(['--seconds', '3']);
  });
});

describe('formatMs', () => {
  it.each([
    [0.84, '0.8 ms'],
    [41, '41 ms'],
    [99.96, '100 ms'],
    [3214.4, '3,214 ms'],
    [12_540, '12.5 s'],
    [undefined, '—'],
  ])('%s ms reads %s', (ms, expected) => {
    expect(formatMs(ms)).toBe(expected);
  });
});

describe('summaryRows', () => {
  it("puts each bench's figure, baseline, ratio, target and verdict in its row", () => {
    expect(summaryRows(outcome('mockserver'))).toEqual([
      {
        bench: 'mockserver',
        measured: 'GET /api/orders req/s against a bare node:http server',
        figure: '11,800 req/s, p99 5 ms',
        baseline: '14,210 req/s, p99 4.3 ms',
        ratio: '0.83',
        target: '>= 0.7',
        met: 'yes',
      },
    ]);
    const [detection, rollback] = summaryRows(outcome('guard'));
    expect(detection).toMatchObject({
      figure: '4,612 ms',
      baseline: 'floor 3,000 ms',
      ratio: '1.54',
      target: '<= 2',
      met: 'yes',
    });
    expect(rollback).toMatchObject({ ratio: '1.26', target: '—', met: '—' });
  });

  it('judges the analysis against its targets, and shows counts out of their totals', () => {
    const rows = summaryRows(outcome('analysis'));
    expect(rows.map((row) => [row.figure, row.ratio, row.target, row.met])).toEqual([
      ['5/6', '0.833', '>= 0.8', 'yes'],
      ['6/6', '1', '—', '—'],
      ['9/10', '0.9', '>= 1', 'no'],
    ]);
  });

  it('has a row per release size; a size without a target is not judged', () => {
    const rows = summaryRows(outcome('release-scale'));
    expect(rows.map((row) => row.measured)).toEqual([
      'release of 10 machines, wall time',
      'release of 100 machines, wall time',
    ]);
    expect(rows[0]).toMatchObject({ figure: '9,800 ms', target: '—', met: '—' });
    expect(rows[1]).toMatchObject({
      figure: '61.2 s (24.1 history events/machine, worker RSS 212 MB)',
      baseline: 'ideal 57.0 s',
      ratio: '1.074',
      target: '<= 1.1',
      met: 'yes',
    });
  });

  it('shows throughput and the api with their baselines and both api ratios', () => {
    expect(summaryRows(outcome('throughput'))).toEqual([
      expect.objectContaining({
        measured: '50 concurrent releases, makespan',
        figure: '41.0 s (73.2 releases/min, p99 40.8 s)',
        baseline: 'one release alone 9,000 ms',
        ratio: '4.56',
      }),
    ]);
    const [api, throttle] = summaryRows(outcome('api'));
    expect(api).toMatchObject({
      figure: '1,450 req/s, p99 61 ms',
      baseline: '2,100 req/s, p99 40 ms',
      ratio: '0.69 req/s, 1.525 p99',
    });
    expect(throttle).toMatchObject({ baseline: '980 req/s, p99 95 ms', ratio: '1.48' });
  });

  it('shows the health bench: the full fleet against idle and the ideal number of checks', () => {
    expect(summaryRows(outcome('health'))).toEqual([
      expect.objectContaining({
        measured:
          'one worker watching 1,000 machines every 5 s: worker CPU of 2 cores, checks done',
        figure: '25.6%, 2.63 ms per machine check; 389 checks',
        baseline: 'idle 1.2%; ideal 400 checks',
        ratio: '0.973',
      }),
    ]);
  });

  it('shows a failed bench as failed, and one without a result line as such', () => {
    const crashed = outcome('guard', 3);
    expect(benchFailed(crashed)).toBe(true);
    expect(summaryRows(crashed)).toEqual([
      expect.objectContaining({ bench: 'guard', figure: 'failed (exit code 3)', met: 'no' }),
    ]);
    const silent: BenchOutcome = { name: 'api', exitCode: 0, result: undefined };
    expect(benchFailed(silent)).toBe(true);
    expect(summaryRows(silent)[0]).toMatchObject({ figure: 'no result line', met: 'no' });
    expect(benchFailed(outcome('api'))).toBe(false);
  });
});

describe('markdownTable', () => {
  it('lays the table out with aligned columns and escapes a pipe in a cell', () => {
    const row = {
      bench: 'api',
      measured: 'a|b',
      figure: '1',
      baseline: '2',
      ratio: '0.5',
      target: '—',
      met: '—',
    };
    expect(markdownTable([row])).toBe(
      [
        '| bench | what is measured | figure | ideal/baseline | ratio | target | met? |',
        '| ----- | ---------------- | ------ | -------------- | ----- | ------ | ---- |',
        '| api   | a\\|b             | 1      | 2              | 0.5   | —      | —    |',
      ].join('\n'),
    );
  });

  it('is a table Prettier leaves as it is, so it can be pasted into README.md', async () => {
    const table = markdownTable(benchNames.flatMap((name) => summaryRows(outcome(name))));
    expect(table.split('\n')).toHaveLength(2 + 1 + 2 + 3 + 2 + 1 + 2 + 1);
    expect(await format(table, { parser: 'markdown', printWidth: 100 })).toBe(`${table}\n`);
  });
});
