import { describe, expect, it } from 'vitest';
import { REDMetrics, RollbackRule } from '../../domain';
import { analyzeTemplate, maxRangeSeconds, redTemplateIssues } from '../../domain/promql-templates';

const defaults = REDMetrics.parse({});
const selector = 'app="{{app}}",version="{{version}}"';
const requests = `sum(rate(http_requests_total{${selector}}[1m]))`;
const failures = `sum(rate(http_requests_total{${selector},status=~"5.."}[1m]))`;
const ratio = `${failures} / ${requests}`;
const custom = (promql: string) =>
  RollbackRule.parse({ name: 'custom', metric: 'custom', promql, threshold: 1 });

describe('analyzeTemplate', () => {
  it.each([
    ['the default rate', defaults.rate],
    ['the default errors', defaults.errors],
    ['the default duration', defaults.duration],
    ['placeholders in a regex matcher', `up{${selector},instance=~"{{instances}}"}`],
    ['an escaped quote in a string', 'up{path="a\\"b",version="{{version}}"}'],
  ])('parses %s', (_name, template) => {
    expect(analyzeTemplate(template).error).toBeUndefined();
  });

  it.each([
    ['an unclosed parenthesis', 'sum(rate(x[1m])', /ends at character 16/],
    ['a stray parenthesis', 'sum(x{version="{{version}}"}))', /character 30: unexpected "\)"/],
    ['an unknown function', 'rat(x)', /character 4: .*"rat" is not a PromQL function/],
    ['a placeholder outside quotes', 'x{version={{version}}}', /character 11: .*quoted string/],
    ['an empty template', '  ', /is empty/],
  ])('reports %s with its position', (_name, template, message) => {
    expect(analyzeTemplate(template).error).toMatch(message);
  });

  it.each([
    ['a ratio', ratio, true, true],
    ['a ratio in parentheses', `((${ratio}))`, true, true],
    ['a percentage', `${ratio} * 100`, false, true],
    ['an averaged ratio', `avg(${ratio})`, false, true],
    ['a vector matching ratio', 'a / on(job) group_left b', true, true],
    ['a rate from increase', 'sum(increase(x[5m])) / 300', true, false],
    ['a count of ratios', 'count(a / b)', false, false],
    ['no division', requests, false, false],
  ])('%s: top-level division %s, division by a vector %s', (_name, template, top, vector) => {
    expect(analyzeTemplate(template)).toMatchObject({
      topLevelDivision: top,
      divisionByVector: vector,
    });
  });

  it.each([
    ['one window', requests, [60]],
    ['seconds and compound durations', 'rate(a[5s]) + rate(b[1m30s])', [5, 90]],
    ['a subquery (its range, not its step)', 'max_over_time(rate(x[1m])[5m:30s])', [300, 60]],
    ['a subquery with the default step', 'max_over_time(x[10m:])', [600]],
    ['a bare number of seconds', 'rate(x[45])', [45]],
    ['hours and milliseconds', 'rate(x[1h]) + rate(y[1500ms])', [3600, 1.5]],
    ['an offset, which is no window', 'rate(x[1m] offset 1h)', [60]],
    ['no window', 'up', []],
  ])('reads the range windows of %s', (_name, template, seconds) => {
    expect(analyzeTemplate(template).rangeSeconds).toEqual(seconds);
  });

  it.each([
    ['sum by (le)', defaults.duration, false],
    [
      'sum by (le) after the body',
      'histogram_quantile(0.9, sum(rate(x_bucket[1m])) by (le))',
      false,
    ],
    ['sum by (job)', 'histogram_quantile(0.9, sum by (job) (rate(x_bucket[1m])))', true],
    ['sum without (le)', 'histogram_quantile(0.9, sum without (le) (rate(x_bucket[1m])))', true],
    ['a plain sum', 'histogram_quantile(0.9, sum(rate(x_bucket[1m])))', true],
    ['no aggregation', 'histogram_quantile(0.9, rate(x_bucket[1m]))', false],
    ['a native histogram', 'histogram_quantile(0.9, sum(rate(x_seconds[1m])))', false],
  ])('histogram_quantile with %s: without le %s', (_name, template, withoutLe) => {
    expect(analyzeTemplate(template).histogramWithoutLe).toBe(withoutLe);
  });

  it('tells whether {{version}} is used, and which placeholders are unknown', () => {
    expect(analyzeTemplate(requests)).toMatchObject({
      referencesVersion: true,
      unknownPlaceholders: [],
    });
    expect(analyzeTemplate('up{app="{{ap}}"}')).toMatchObject({
      referencesVersion: false,
      unknownPlaceholders: ['{{ap}}'],
    });
  });
});

describe('redTemplateIssues', () => {
  const red = (templates: Partial<REDMetrics>) => REDMetrics.parse(templates);
  const paths = (red: REDMetrics, rules: RollbackRule[] = []) =>
    redTemplateIssues(red, rules).map((issue) => issue.path.join('.'));

  it('accepts the default templates and rules', () => {
    expect(redTemplateIssues(defaults, [])).toEqual([]);
  });

  it.each([
    ['a ratio as errors', { errors: ratio }, 'red_metrics_config.errors'],
    ['a percentage as errors', { errors: `${ratio} * 100` }, 'red_metrics_config.errors'],
    ['a ratio as rate', { rate: ratio }, 'red_metrics_config.rate'],
    ['rate without {{version}}', { rate: 'sum(rate(x[1m]))' }, 'red_metrics_config.rate'],
    ['errors without {{version}}', { errors: 'sum(rate(x[1m]))' }, 'red_metrics_config.errors'],
    [
      'a histogram without le',
      { duration: `histogram_quantile(0.99, sum(rate(x_bucket{${selector}}[1m])))` },
      'red_metrics_config.duration',
    ],
    ['duration that does not parse', { duration: 'sum(' }, 'red_metrics_config.duration'],
    [
      'error_ratio that does not parse',
      { error_ratio: `${ratio} /` },
      'red_metrics_config.error_ratio',
    ],
    ['error_ratio without {{version}}', { error_ratio: 'a / b' }, 'red_metrics_config.error_ratio'],
    [
      'an unknown placeholder',
      { rate: `sum(rate(x{app="{{ap}}",version="{{version}}"}[1m]))` },
      'red_metrics_config.rate',
    ],
  ])('refuses %s, naming %s', (_name, templates, path) => {
    expect(paths(red(templates))).toEqual([path]);
  });

  it('accepts a ratio written as error_ratio, beside a rate of errors', () => {
    expect(redTemplateIssues(red({ errors: failures, error_ratio: ratio }), [])).toEqual([]);
  });

  it('says what is wrong and what to write instead', () => {
    const [ratioIssue] = redTemplateIssues(red({ errors: ratio }), []);
    expect(ratioIssue?.message).toMatch(/looks like a ratio/);
    expect(ratioIssue?.message).toMatch(/red_metrics_config\.error_ratio/);
    const [versionIssue] = redTemplateIssues(red({ rate: 'sum(rate(x[1m]))' }), []);
    expect(versionIssue?.message).toMatch(/cannot tell the new release from the old one/);
    expect(versionIssue?.message).toContain('version="{{version}}"');
    const [leIssue] = redTemplateIssues(
      red({ duration: `histogram_quantile(0.99, sum by (job) (rate(x_bucket{${selector}}[1m])))` }),
      [],
    );
    expect(leIssue?.message).toMatch(/le label/);
  });

  it('checks custom rules, named by their index, and only custom ones', () => {
    const rules = [
      RollbackRule.parse({ name: 'errors', metric: 'error_rate', threshold: 0.05 }),
      custom(`sum(x{${selector}})`),
      custom('sum(rate(x[1m])'),
      custom('sum(x)'),
    ];
    expect(paths(defaults, rules)).toEqual([
      'rollback_policy.rules.2.promql',
      'rollback_policy.rules.3.promql',
    ]);
  });

  it('lets a custom rule be a ratio: its threshold is compared with the value as it is', () => {
    expect(redTemplateIssues(defaults, [custom(ratio)])).toEqual([]);
  });
});

describe('maxRangeSeconds', () => {
  it('is the default templates’ one minute', () => {
    expect(maxRangeSeconds(defaults)).toBe(60);
  });

  it('takes the longest window of any template, error_ratio and custom rules included', () => {
    const red = REDMetrics.parse({
      rate: `sum(rate(x{${selector}}[30s]))`,
      error_ratio: `sum(rate(e{${selector}}[2m])) / sum(rate(x{${selector}}[2m]))`,
    });
    expect(maxRangeSeconds(red)).toBe(120);
    expect(maxRangeSeconds(red, [custom(`max_over_time(x{${selector}}[10m:])`)])).toBe(600);
  });

  it("counts the cpu rule's own minute, which no template states", () => {
    const red = REDMetrics.parse({
      rate: `sum(rate(x{${selector}}[5s]))`,
      errors: `sum(rate(e{${selector}}[5s]))`,
      duration: `histogram_quantile(0.99, sum by (le) (rate(d_bucket{${selector}}[5s])))`,
    });
    expect(maxRangeSeconds(red)).toBe(5);
    const cpu = RollbackRule.parse({ name: 'cpu', metric: 'cpu', threshold: 0.5 });
    expect(maxRangeSeconds(red, [cpu])).toBe(60);
  });

  it('is 0 when no template uses a window', () => {
    const red = REDMetrics.parse({
      rate: `job:requests:rate1m{${selector}}`,
      errors: `job:errors:rate1m{${selector}}`,
      duration: `job:latency:p99{${selector}}`,
    });
    expect(maxRangeSeconds(red)).toBe(0);
  });
});
