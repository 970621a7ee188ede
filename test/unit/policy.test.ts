import { describe, expect, it } from 'vitest';
import {
  REDMetrics,
  RollbackPolicy,
  RollbackRule,
  type NoDataAction,
  type PolicyEvaluation,
  type RuleResult,
  type Verdict,
} from '../../domain';
import {
  evaluateBreaches,
  formatNumber,
  judge,
  promqlString,
  regexLiteral,
  renderTemplate,
  ruleQueries,
  worstVerdict,
  type Measurement,
  type RuleContext,
  type RuleQueries,
} from '../../domain/policy';

const red = REDMetrics.parse({});
const rule = (input: Partial<RollbackRule> & Pick<RollbackRule, 'metric' | 'threshold'>) =>
  RollbackRule.parse({ name: 'r', ...input });

describe('renderTemplate', () => {
  const values = { app: 'shop', version: 'v2', instances: ['m1', 'm2'] };

  it.each([
    ['{{app}}/{{version}}', values, 'shop/v2'],
    ['i=~"{{instances}}"', values, 'i=~"m1|m2"'],
    ['{{app}}{{app}}', values, 'shopshop'],
    ['no placeholders {a="b"}', values, 'no placeholders {a="b"}'],
    // A quote or backslash in a version must not end the string literal it lands in.
    ['v="{{version}}"', { ...values, version: 'v"2\\x' }, 'v="v\\"2\\\\x"'],
    // Regex-escaped first (a literal dot), then escaped for the PromQL string around it.
    [
      'i=~"{{instances}}"',
      { ...values, instances: ['10.0.0.1:9100', 'a|b'] },
      'i=~"10\\\\.0\\\\.0\\\\.1:9100|a\\\\|b"',
    ],
  ])('%s with %j → %s', (template, input, expected) => {
    expect(renderTemplate(template, input)).toBe(expected);
  });

  it.each([['{{ap}}'], ['{{ app }}'], ['{{instance}}'], ['{{}}']])(
    'refuses the unknown placeholder in %s, naming it',
    (template) => {
      expect(() => renderTemplate(template, values)).toThrow(
        `unknown placeholder ${template} in template`,
      );
    },
  );

  it('refuses {{instances}} without instances (an empty regex matches unlabelled series)', () => {
    expect(() => renderTemplate('x{i=~"{{instances}}"}', { ...values, instances: [] })).toThrow(
      /no machine runs version v2/,
    );
    expect(renderTemplate('x{v="{{version}}"}', { ...values, instances: [] })).toBe('x{v="v2"}');
  });

  it('escapes for PromQL strings and RE2 regexes', () => {
    expect(promqlString('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(regexLiteral('a.b*c+d?(e)[f]{g}^h$i|j\\k')).toBe(
      'a\\.b\\*c\\+d\\?\\(e\\)\\[f\\]\\{g\\}\\^h\\$i\\|j\\\\k',
    );
  });
});

describe('ruleQueries', () => {
  const ctx: RuleContext = {
    app: 'shop',
    version: 'v2',
    instances: ['m1'],
    baseline: { version: 'v1', instances: ['m2'] },
  };
  const rate = 'sum(rate(http_requests_total{app="shop",version="v2"}[1m]))';
  const errors = 'sum(rate(http_requests_total{app="shop",version="v2",status=~"5.."}[1m]))';

  it.each<[string, RollbackRule, string]>([
    [
      'error_rate: errors over requests, zero when no 5xx series exists',
      rule({ metric: 'error_rate', threshold: 0.05 }),
      `((${errors}) or ((${rate}) * 0)) / (${rate})`,
    ],
    [
      'latency_p99: the duration template',
      rule({ metric: 'latency_p99', threshold: 1 }),
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="shop",version="v2"}[1m])))',
    ],
    [
      'cpu: cores per machine',
      rule({ metric: 'cpu', threshold: 0.8 }),
      'avg(rate(process_cpu_seconds_total{app="shop",version="v2"}[1m]))',
    ],
    [
      'memory: the largest process',
      rule({ metric: 'memory', threshold: 5e8 }),
      'max(process_resident_memory_bytes{app="shop",version="v2"})',
    ],
    [
      'custom: its own promql, rendered',
      rule({
        metric: 'custom',
        threshold: 1,
        promql: 'sum(up{app="{{app}}",instance=~"{{instances}}"})',
      }),
      'sum(up{app="shop",instance=~"m1"})',
    ],
  ])('%s', (_title, input, promql) => {
    expect(ruleQueries(input, red, ctx)).toEqual({ promql, trafficPromql: rate });
  });

  it('renders the baseline with the old version and machines, for a relative rule only', () => {
    const custom = {
      metric: 'custom' as const,
      threshold: 2,
      promql: 'q{version="{{version}}",instance=~"{{instances}}"}',
    };
    expect(ruleQueries(rule({ ...custom, relative_to_baseline: true }), red, ctx)).toMatchObject({
      promql: 'q{version="v2",instance=~"m1"}',
      baselinePromql: 'q{version="v1",instance=~"m2"}',
    });
    expect(ruleQueries(rule(custom), red, ctx).baselinePromql).toBeUndefined();
    // No old machine left, or a first release: no baseline query at all.
    const relative = rule({ ...custom, relative_to_baseline: true });
    const withoutOld = { ...ctx, baseline: { version: 'v1', instances: [] } };
    expect(ruleQueries(relative, red, withoutOld).baselinePromql).toBeUndefined();
    expect(ruleQueries(relative, red, { ...ctx, baseline: undefined }).baselinePromql).toBe(
      undefined,
    );
  });

  it('adds the REDMetrics labels to the process selectors and refuses a bad label name', () => {
    const labelled = REDMetrics.parse({ labels: { job: '{{app}}-nodes', env: 'p"rod' } });
    expect(ruleQueries(rule({ metric: 'memory', threshold: 1 }), labelled, ctx).promql).toBe(
      'max(process_resident_memory_bytes{app="shop",version="v2",job="shop-nodes",env="p\\"rod"})',
    );
    // The schema refuses it; a document stored before it did is refused when queried.
    expect(REDMetrics.safeParse({ labels: { 'not-a-label': 'x' } }).success).toBe(false);
    const bad = { ...REDMetrics.parse({}), labels: { 'not-a-label': 'x' } };
    expect(() => ruleQueries(rule({ metric: 'cpu', threshold: 1 }), bad, ctx)).toThrow(
      '"not-a-label" is not a Prometheus label name',
    );
  });

  it('refuses a template with an unknown placeholder', () => {
    const broken = REDMetrics.parse({ rate: 'sum(rate(x{app="{{application}}"}[1m]))' });
    expect(() => ruleQueries(rule({ metric: 'error_rate', threshold: 1 }), broken, ctx)).toThrow(
      'unknown placeholder {{application}}',
    );
  });
});

describe('judge', () => {
  const queries: RuleQueries = { promql: 'q', trafficPromql: 't' };
  const withBaseline: RuleQueries = { ...queries, baselinePromql: 'b' };
  const errorRate = rule({ name: 'errors', metric: 'error_rate', threshold: 0.05 });
  const p99x2 = rule({
    name: 'p99',
    metric: 'latency_p99',
    threshold: 2,
    relative_to_baseline: true,
    floor: 0.5,
  });
  const p99x2NoFloor = rule({ ...p99x2, floor: undefined });
  const lowTraffic = rule({ ...errorRate, min_request_rate: 1 });

  it.each<[string, RollbackRule, Measurement, RuleQueries, Verdict, string]>([
    // absolute rules
    [
      'above the threshold',
      errorRate,
      { value: 0.31 },
      queries,
      'fail',
      'errors: error rate 0.31 > 0.05',
    ],
    [
      'at the threshold of >',
      errorRate,
      { value: 0.05 },
      queries,
      'pass',
      'errors: error rate 0.05 <= 0.05',
    ],
    [
      'below the threshold',
      errorRate,
      { value: 0.01 },
      queries,
      'pass',
      'errors: error rate 0.01 <= 0.05',
    ],
    [
      'a < rule',
      rule({ name: 'throughput', metric: 'custom', promql: 'x', threshold: 10, operator: '<' }),
      { value: 3 },
      queries,
      'fail',
      'throughput: value 3 < 10',
    ],
    [
      'an absolute rule ignores floor',
      rule({ ...errorRate, floor: 0.5 }),
      { value: 0.1 },
      queries,
      'fail',
      'errors: error rate 0.1 > 0.05',
    ],
    [
      '+Inf is a number (p99 beyond the last bucket)',
      rule({ name: 'p99', metric: 'latency_p99', threshold: 1 }),
      { value: Infinity },
      queries,
      'fail',
      'p99: p99 latency +Inf > 1',
    ],
    // errors and missing data
    [
      'a query error wins over everything',
      errorRate,
      { value: 0.9, error: 'bad_data: parse error' },
      queries,
      'error',
      'errors: error: bad_data: parse error',
    ],
    [
      'no series',
      errorRate,
      {},
      queries,
      'no_data',
      'errors: no data: error rate query returned no series',
    ],
    [
      'NaN (0/0)',
      errorRate,
      { value: NaN },
      queries,
      'no_data',
      'errors: no data: error rate query returned NaN',
    ],
    // min_request_rate
    [
      'too little traffic is no_data, not a pass',
      lowTraffic,
      { value: 0.9, traffic: 0.02 },
      queries,
      'no_data',
      'errors: no data: 0.02 req/s < min_request_rate 1',
    ],
    [
      'no traffic series',
      lowTraffic,
      { value: 0 },
      queries,
      'no_data',
      'errors: no data: no traffic, min_request_rate 1',
    ],
    [
      'enough traffic is judged',
      lowTraffic,
      { value: 0.31, traffic: 5 },
      queries,
      'fail',
      'errors: error rate 0.31 > 0.05',
    ],
    // relative rules
    [
      'past ratio and floor',
      p99x2,
      { value: 1.8, baseline: 0.4 },
      withBaseline,
      'fail',
      'p99: p99 latency 1.8 > 2 x baseline 0.4 (and > floor 0.5)',
    ],
    [
      'past ratio, not floor',
      p99x2,
      { value: 0.45, baseline: 0.1 },
      withBaseline,
      'pass',
      'p99: p99 latency 0.45 > 2 x baseline 0.1 but <= floor 0.5',
    ],
    [
      'within the ratio',
      p99x2,
      { value: 0.7, baseline: 0.4 },
      withBaseline,
      'pass',
      'p99: p99 latency 0.7 <= 2 x baseline 0.4',
    ],
    [
      'past ratio, no floor set',
      p99x2NoFloor,
      { value: 0.3, baseline: 0.1 },
      withBaseline,
      'fail',
      'p99: p99 latency 0.3 > 2 x baseline 0.1',
    ],
    [
      'a zero baseline makes any rise a breach without floor',
      p99x2NoFloor,
      { value: 0.001, baseline: 0 },
      withBaseline,
      'fail',
      'p99: p99 latency 0.001 > 2 x baseline 0',
    ],
    [
      'no baseline data: the floor as threshold (fail)',
      p99x2,
      { value: 0.9 },
      withBaseline,
      'fail',
      'p99: p99 latency 0.9 > floor 0.5 (no baseline data)',
    ],
    [
      'no baseline data: the floor as threshold (pass)',
      p99x2,
      { value: 0.2, baseline: NaN },
      withBaseline,
      'pass',
      'p99: p99 latency 0.2 <= floor 0.5 (no baseline data)',
    ],
    [
      'no baseline version: the floor as threshold',
      p99x2,
      { value: 0.9 },
      queries,
      'fail',
      'p99: p99 latency 0.9 > floor 0.5 (no baseline version)',
    ],
    [
      'no baseline and no floor',
      p99x2NoFloor,
      { value: 0.9 },
      withBaseline,
      'no_data',
      'p99: no data: no baseline data and no floor',
    ],
  ])('%s', (_title, input, measurement, used, verdict, message) => {
    const result = judge(input, measurement, used);
    expect(result.verdict).toBe(verdict);
    expect(result.message).toBe(message);
  });

  it('carries the rule, the queries and the numbers', () => {
    expect(judge(p99x2, { value: 1.8, baseline: 0.4 }, withBaseline)).toEqual({
      rule: 'p99',
      metric: 'latency_p99',
      promql: 'q',
      baseline_promql: 'b',
      value: 1.8,
      baseline: 0.4,
      operator: '>',
      threshold: 2,
      verdict: 'fail',
      message: 'p99: p99 latency 1.8 > 2 x baseline 0.4 (and > floor 0.5)',
    });
    // NaN is not a number a reader (or JSON) can use: it is left out.
    expect(judge(errorRate, { value: NaN }, queries)).not.toHaveProperty('value');
  });

  it.each([
    [0.3134, '0.3134'],
    [0.0123456, '0.01235'],
    [123456789, '123456789'],
    [-Infinity, '-Inf'],
  ])('formats %d as %s', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});

const results = (...verdicts: Verdict[]): Pick<RuleResult, 'verdict'>[] =>
  verdicts.map((verdict) => ({ verdict }));

describe('worstVerdict', () => {
  it.each<[Verdict[], Verdict]>([
    [[], 'pass'],
    [['pass', 'pass'], 'pass'],
    [['pass', 'no_data'], 'no_data'],
    [['no_data', 'error', 'pass'], 'error'],
    [['error', 'fail', 'no_data'], 'fail'],
  ])('%j → %s', (verdicts, worst) => {
    expect(worstVerdict(results(...verdicts))).toBe(worst);
  });
});

describe('evaluateBreaches', () => {
  const evaluation = (...verdicts: Verdict[]) =>
    ({
      results: results(...verdicts),
      verdict: worstVerdict(results(...verdicts)),
    }) as Pick<PolicyEvaluation, 'results' | 'verdict'>;
  const policy = (no_data: NoDataAction) =>
    RollbackPolicy.parse({ consecutive_breaches: 3, no_data });

  it.each<[string, NoDataAction, number, Verdict[], number, boolean, boolean]>([
    // [title, no_data, previous, verdicts, consecutive, breached, inconclusive]
    ['a fail adds one', 'pause', 0, ['fail', 'pass'], 1, false, false],
    ['the third fail in a row breaches', 'pause', 2, ['fail'], 3, true, false],
    ['a pass resets', 'pause', 2, ['pass', 'pass'], 0, false, false],
    ['no rules is a pass', 'pause', 2, [], 0, false, false],
    ['a fail beside no_data is a fail', 'ignore', 1, ['no_data', 'fail'], 2, false, false],
    ['ignore: no_data counts as a pass', 'ignore', 2, ['no_data', 'pass'], 0, false, false],
    [
      // A rule the guard cannot judge (its query failed) must not pass silently either.
      'ignore: an error among passes holds and is inconclusive',
      'ignore',
      2,
      ['error', 'pass'],
      2,
      false,
      true,
    ],
    [
      'ignore: an outage holds and is inconclusive',
      'ignore',
      2,
      ['error', 'error'],
      2,
      false,
      true,
    ],
    ['pause: no_data holds and is inconclusive', 'pause', 2, ['no_data', 'pass'], 2, false, true],
    ['pause: an error holds and is inconclusive', 'pause', 1, ['error', 'pass'], 1, false, true],
    ['pause: an outage holds and is inconclusive', 'pause', 0, ['error', 'error'], 0, false, true],
    ['rollback: no_data is a breach', 'rollback', 1, ['no_data', 'pass'], 2, false, false],
    ['rollback: an outage breaches in the end', 'rollback', 2, ['error', 'error'], 3, true, false],
  ])('%s', (_title, noData, previous, verdicts, consecutive, breached, inconclusive) => {
    expect(evaluateBreaches(previous, evaluation(...verdicts), policy(noData))).toEqual({
      consecutive,
      breached,
      inconclusive,
    });
  });

  it('an evaluation that failed before any rule ran is an outage', () => {
    const failed = { results: [], verdict: 'error' as const };
    expect(evaluateBreaches(1, failed, policy('ignore'))).toEqual({
      consecutive: 1,
      breached: false,
      inconclusive: true,
    });
  });

  it('counts a run of evaluations: fails add up, no_data is held under pause, a pass resets', () => {
    const run: Verdict[][] = [
      ['fail'],
      ['no_data'],
      ['fail'],
      ['pass'],
      ['fail'],
      ['fail'],
      ['fail'],
    ];
    let consecutive = 0;
    const seen = run.map((verdicts) => {
      const outcome = evaluateBreaches(consecutive, evaluation(...verdicts), policy('pause'));
      consecutive = outcome.consecutive;
      return [outcome.consecutive, outcome.breached, outcome.inconclusive];
    });
    expect(seen).toEqual([
      [1, false, false],
      [1, false, true],
      [2, false, false],
      [0, false, false],
      [1, false, false],
      [2, false, false],
      [3, true, false],
    ]);
  });
});
