import type {
  ComparisonOperator,
  REDMetrics,
  RollbackPolicy,
  RollbackRule,
  RuleMetric,
} from './application';
import { FailureType, RelguardError } from './errors';
import { verdictsWorstFirst, type PolicyEvaluation, type RuleResult, type Verdict } from './guard';

/**
 * The metric guard's pure decisions: which PromQL measures a rule, what a measurement means,
 * and when breaches add up to a rollback. The activity only runs the queries.
 */

/** What fills a template's placeholders. */
export interface TemplateValues {
  app: string;
  version: string;
  /** Machine ids, matched by the `instance` label. */
  instances: readonly string[];
}

/** A release as the guard sees it: the new version's machines and, if any, the old ones'. */
export interface RuleContext extends TemplateValues {
  /** Absent on a first release, or once no machine runs the old version. */
  baseline?: { version: string; instances: readonly string[] };
}

export interface RuleQueries {
  /** Measures the new version. */
  promql: string;
  /** Measures the old version; only for a rule relative to the baseline, when there is one. */
  baselinePromql?: string;
  /** Requests per second the new version serves, for `min_request_rate`. */
  trafficPromql: string;
}

/** One rule's numbers at one instant, as the metric source gave them. */
export interface Measurement {
  value?: number;
  baseline?: number;
  traffic?: number;
  /** Why a query failed (Prometheus' message); set, it decides the verdict alone. */
  error?: string;
}

export const placeholders = ['app', 'version', 'instances'] as const;

/** The body of a PromQL double-quoted string literal (Go string escapes). */
export function promqlString(value: string): string {
  return value.replace(/[\\"\n\r\t]/g, (char) => {
    switch (char) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\${char}`;
    }
  });
}

/** `value` matched literally by an RE2 regular expression, as in a `=~` matcher. */
export function regexLiteral(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * Fills `{{app}}`, `{{version}}` and `{{instances}}`. The values land inside PromQL string
 * literals (`version="{{version}}"`, `instance=~"{{instances}}"`), so they are escaped for one;
 * `{{instances}}` becomes a regex alternation of the literal machine ids. Throws BadConfig for
 * any other `{{...}}`, so a typo fails loudly instead of querying for a literal "{{ap}}".
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(/\{\{([^{}]*)\}\}/g, (_match, name: string) => {
    switch (name) {
      case 'app':
        return promqlString(values.app);
      case 'version':
        return promqlString(values.version);
      case 'instances':
        // An empty alternation matches the series that have no instance label at all, which
        // would measure the wrong thing without a sound; the caller must not ask for it.
        if (values.instances.length === 0) {
          throw new RelguardError(
            FailureType.BadConfig,
            `template ${JSON.stringify(template)} uses {{instances}} but no machine runs version ${values.version}`,
          );
        }
        return promqlString(values.instances.map(regexLiteral).join('|'));
      default:
        throw new RelguardError(
          FailureType.BadConfig,
          `unknown placeholder {{${name}}} in template ${JSON.stringify(template)}; ` +
            `known: ${placeholders.map((known) => `{{${known}}}`).join(', ')}`,
        );
    }
  });
}

const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * `{app="...",version="..."}` plus the REDMetrics' `labels` as further equality matchers (say
 * `job` or `env`, where one app's name is not unique in Prometheus). Their values are template
 * text: `{{app}}` in one is filled like anywhere else.
 */
function processSelector(labels: Record<string, string>): string {
  const extra = Object.entries(labels).map(([name, value]) => {
    if (!labelName.test(name)) {
      throw new RelguardError(
        FailureType.BadConfig,
        `red_metrics_config.labels: "${name}" is not a Prometheus label name`,
      );
    }
    return `,${name}="${promqlString(value)}"`;
  });
  return `{app="{{app}}",version="{{version}}"${extra.join('')}}`;
}

/**
 * The template that measures a rule's metric, before rendering.
 *
 * - error_rate: errors / requests. A counter series exists only once a 5xx happened, so the
 *   errors query of a healthy version has no series at all; `or (rate) * 0` stands in zeros with
 *   the request rate's own labels, so a healthy version measures 0 and not "no data", whatever
 *   the templates group by. No traffic still gives no series (no data), and 0/0 gives NaN.
 * - cpu: cores used per machine, averaged over the version's machines. A sum would grow with
 *   the number of machines, so one gray machine could never be compared with nine old ones,
 *   nor one threshold hold through a rollout.
 * - memory: resident bytes of the version's largest process: a leak shows on one machine first.
 */
export function metricTemplate(rule: RollbackRule, red: REDMetrics): string {
  switch (rule.metric) {
    case 'error_rate':
      // A ratio written as such is taken as it is; dividing it by the rate again would make a
      // 15% failure read as 0.005 (see domain/promql-templates.ts, which refuses that).
      if (red.error_ratio !== undefined) return red.error_ratio;
      return `((${red.errors}) or ((${red.rate}) * 0)) / (${red.rate})`;
    case 'latency_p99':
      return red.duration;
    case 'cpu':
      return `avg(rate(process_cpu_seconds_total${processSelector(red.labels)}[1m]))`;
    case 'memory':
      return `max(process_resident_memory_bytes${processSelector(red.labels)})`;
    case 'custom':
      if (rule.promql === undefined) {
        throw new RelguardError(FailureType.BadConfig, `custom rule "${rule.name}" has no promql`);
      }
      return rule.promql;
  }
}

/** The queries that measure `rule`; throws BadConfig for a template that cannot be rendered. */
export function ruleQueries(rule: RollbackRule, red: REDMetrics, ctx: RuleContext): RuleQueries {
  const template = metricTemplate(rule, red);
  const current = { app: ctx.app, version: ctx.version, instances: ctx.instances };
  const queries: RuleQueries = {
    promql: renderTemplate(template, current),
    trafficPromql: renderTemplate(red.rate, current),
  };
  // A baseline version that no machine runs any more is no baseline (and would need an empty
  // {{instances}}); the rule then falls back to its floor.
  if (
    rule.relative_to_baseline &&
    ctx.baseline !== undefined &&
    ctx.baseline.instances.length > 0
  ) {
    queries.baselinePromql = renderTemplate(template, { app: ctx.app, ...ctx.baseline });
  }
  return queries;
}

const metricWords: Record<RuleMetric, string> = {
  error_rate: 'error rate',
  latency_p99: 'p99 latency',
  cpu: 'cpu',
  memory: 'memory',
  custom: 'value',
};

const negated: Record<ComparisonOperator, ComparisonOperator> = {
  '>': '<=',
  '>=': '<',
  '<': '>=',
  '<=': '>',
};

function compare(value: number, operator: ComparisonOperator, limit: number): boolean {
  switch (operator) {
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
  }
}

/** Short and exact enough to read: 0.3134 → "0.3134", 0.0123456 → "0.01235", ∞ → "+Inf". */
export function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

const hasData = (value: number | undefined): value is number =>
  value !== undefined && !Number.isNaN(value);

/**
 * The verdict on one rule from its measurement, with a message that names the rule and the
 * numbers. In order:
 * 1. a failed query is `error`: nothing else is known;
 * 2. traffic below `min_request_rate` (or none) is `no_data`, not `pass`: a version that serves
 *    nothing has proved nothing;
 * 3. no series, or NaN (0/0), is `no_data`; ±Inf is a number and is compared (a p99 in the
 *    +Inf bucket is a real breach);
 * 4. an absolute rule compares the value with `threshold` (`floor` is for relative rules only);
 * 5. a relative rule fails when the value is past `threshold × baseline` AND past `floor`, both
 *    in the operator's direction. Without baseline data it falls back to `floor` as an absolute
 *    threshold, else it is `no_data`: a missing baseline must not turn into a pass.
 *    A baseline of 0 makes any value above 0 a breach of a `>` rule; `floor` is the remedy.
 */
export function judge(
  rule: RollbackRule,
  measurement: Measurement,
  queries: RuleQueries,
): RuleResult {
  const base = {
    rule: rule.name,
    metric: rule.metric,
    promql: queries.promql,
    ...(queries.baselinePromql === undefined ? {} : { baseline_promql: queries.baselinePromql }),
    ...(hasData(measurement.value) ? { value: measurement.value } : {}),
    ...(hasData(measurement.baseline) ? { baseline: measurement.baseline } : {}),
    operator: rule.operator,
    threshold: rule.threshold,
  };
  const result = (verdict: Verdict, words: string): RuleResult => ({
    ...base,
    verdict,
    message: `${rule.name}: ${words}`,
  });
  const what = metricWords[rule.metric];
  const op = rule.operator;

  if (measurement.error !== undefined) return result('error', `error: ${measurement.error}`);

  if (rule.min_request_rate !== undefined) {
    const traffic = measurement.traffic;
    if (!hasData(traffic)) {
      return result('no_data', `no data: no traffic, min_request_rate ${rule.min_request_rate}`);
    }
    if (traffic < rule.min_request_rate) {
      return result(
        'no_data',
        `no data: ${formatNumber(traffic)} req/s < min_request_rate ${formatNumber(rule.min_request_rate)}`,
      );
    }
  }

  const value = measurement.value;
  if (!hasData(value)) {
    return result(
      'no_data',
      `no data: ${what} query returned ${value === undefined ? 'no series' : 'NaN'}` +
        (value !== undefined && rule.metric === 'latency_p99'
          ? ' (no requests in the window, or a histogram summed without its le label)'
          : ''),
    );
  }
  // A ratio above 1 is no error rate: the templates do not measure the same requests.
  const shown =
    `${what} ${formatNumber(value)}` +
    (rule.metric === 'error_rate' && value > 1
      ? ' (above 1: the errors template counts requests the rate template does not)'
      : '');

  if (!rule.relative_to_baseline) {
    const threshold = formatNumber(rule.threshold);
    return compare(value, op, rule.threshold)
      ? result('fail', `${shown} ${op} ${threshold}`)
      : result('pass', `${shown} ${negated[op]} ${threshold}`);
  }

  const floor = rule.floor;
  const baseline = measurement.baseline;
  if (!hasData(baseline)) {
    const why = queries.baselinePromql === undefined ? 'no baseline version' : 'no baseline data';
    if (floor === undefined) return result('no_data', `no data: ${why} and no floor`);
    return compare(value, op, floor)
      ? result('fail', `${shown} ${op} floor ${formatNumber(floor)} (${why})`)
      : result('pass', `${shown} ${negated[op]} floor ${formatNumber(floor)} (${why})`);
  }

  const limit = rule.threshold * baseline;
  const relative = `${formatNumber(rule.threshold)} x baseline ${formatNumber(baseline)}`;
  if (!compare(value, op, limit)) return result('pass', `${shown} ${negated[op]} ${relative}`);
  if (floor === undefined) return result('fail', `${shown} ${op} ${relative}`);
  return compare(value, op, floor)
    ? result('fail', `${shown} ${op} ${relative} (and ${op} floor ${formatNumber(floor)})`)
    : result('pass', `${shown} ${op} ${relative} but ${negated[op]} floor ${formatNumber(floor)}`);
}

/** The worst of the verdicts (fail > error > no_data > pass); no rules at all is a pass. */
export function worstVerdict(results: readonly Pick<RuleResult, 'verdict'>[]): Verdict {
  return (
    verdictsWorstFirst.find((verdict) => results.some((result) => result.verdict === verdict)) ??
    'pass'
  );
}

export interface BreachCount {
  /** Breaches in a row, this evaluation included. */
  consecutive: number;
  /** `consecutive` reached the policy's `consecutive_breaches`: time to roll back. */
  breached: boolean;
  /**
   * The evaluation judged nothing and the counter was held: the caller pauses the release
   * (`no_data: pause`) or at least alerts (a Prometheus outage under `no_data: ignore`).
   */
  inconclusive: boolean;
}

/**
 * Adds one evaluation to the count of consecutive breaches. `fail` adds one, `pass` resets to 0.
 * An evaluation whose worst verdict is `no_data` or `error` follows `policy.no_data`:
 * - `ignore`: `no_data` (no traffic, no series) counts as a pass (resets); `error` (a query
 *   failed, Prometheus is out, the guard cannot tell whether a machine is down) holds the
 *   counter and is inconclusive: a guard that cannot see must never look like a guard that saw
 *   nothing wrong, and an outage between two breaches must not wipe the first one out;
 * - `pause`: holds the counter (neither resets nor adds) and is inconclusive;
 * - `rollback`: counts as a breach.
 * `breached` is true from the `consecutive_breaches`-th breach in a row on; what follows (a
 * rollback, or an alert when `auto_rollback` is off) is the caller's.
 */
export function evaluateBreaches(
  previousConsecutive: number,
  evaluation: Pick<PolicyEvaluation, 'results' | 'verdict'>,
  policy: Pick<RollbackPolicy, 'consecutive_breaches' | 'no_data'>,
): BreachCount {
  const count = (consecutive: number, inconclusive = false): BreachCount => ({
    consecutive,
    breached: consecutive >= policy.consecutive_breaches,
    inconclusive,
  });
  switch (evaluation.verdict) {
    case 'fail':
      return count(previousConsecutive + 1);
    case 'pass':
      return count(0);
    case 'no_data':
    case 'error':
      switch (policy.no_data) {
        case 'ignore':
          return evaluation.verdict === 'error' ? count(previousConsecutive, true) : count(0);
        case 'pause':
          return count(previousConsecutive, true);
        case 'rollback':
          return count(previousConsecutive + 1);
      }
  }
}
