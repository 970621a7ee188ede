import type { REDMetrics, RollbackRule, TemplateValues } from '../../domain';
import { metricTemplate, promqlString, renderTemplate } from '../../domain/policy';

/**
 * The PromQL of the heuristic analysis. Every query pins its range to the window with
 * `[<seconds>s] @ <end>`, so it gives the same answer whenever it runs: pasted into
 * Prometheus days later, it still shows the release window and not "now".
 */

/** A window as PromQL sees it: a range that ends at `end`. */
export interface QuerySpan {
  /** Unix seconds. */
  end: number;
  /** Seconds. */
  range: number;
}

/** Epoch ms → the span that covers it, whole seconds outward. */
export function querySpan(window: { from: number; to: number }): QuerySpan {
  const end = Math.ceil(window.to / 1000);
  return { end, range: Math.max(1, end - Math.floor(window.from / 1000)) };
}

/** What one side of the comparison selects: the new version, the old one, or the whole app. */
export interface Scope {
  /** The label matchers inside `{...}`, e.g. `app="shop",version="v1.1.0"`. */
  matchers: string;
  span: QuerySpan;
  /** The values for the application's RED templates; absent when they cannot select this side. */
  template?: TemplateValues;
}

const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * `app="…"`, `version="…"` when given, and the REDMetrics' extra labels (their values are
 * template text, as for the guard). A label that is not a Prometheus name, or whose value
 * cannot be filled in for this side, is left out: the guard refuses the first already, and
 * the analysis of a release that went bad should not fail on them, only select more broadly.
 */
export function scopeMatchers(
  labels: Record<string, string>,
  values: { app: string; version?: string; instances: readonly string[] },
): string {
  const matchers = [`app="${promqlString(values.app)}"`];
  if (values.version !== undefined) matchers.push(`version="${promqlString(values.version)}"`);
  for (const [name, value] of Object.entries(labels)) {
    if (!labelName.test(name)) continue;
    try {
      const filled = renderTemplate(promqlString(value), {
        app: values.app,
        version: values.version ?? '',
        instances: values.instances,
      });
      matchers.push(`${name}="${filled}"`);
    } catch {
      continue;
    }
  }
  return matchers.join(',');
}

const range = (span: QuerySpan): string => `[${span.range}s] @ ${span.end}`;

const select = (metric: string, scope: Scope, extra: string[] = []): string =>
  `${metric}{${[scope.matchers, ...extra].join(',')}}`;

export const routeMatcher = (route: string): string => `route="${promqlString(route)}"`;
const serverErrors = 'status=~"5.."';

/** Requests answered per route over the span. */
export const requestsByRoute = (scope: Scope): string =>
  `sum by (route) (increase(${select('http_requests_total', scope)}${range(scope.span)}))`;

/** 5xx answers per route over the span; a route without any has no series. */
export const errorsByRoute = (scope: Scope): string =>
  `sum by (route) (increase(${select('http_requests_total', scope, [serverErrors])}${range(scope.span)}))`;

/** The share of one route's requests answered 5xx over the span. */
export const routeErrorRatio = (scope: Scope, route: string): string =>
  `sum(increase(${select('http_requests_total', scope, [routeMatcher(route), serverErrors])}${range(scope.span)}))` +
  ` / sum(increase(${select('http_requests_total', scope, [routeMatcher(route)])}${range(scope.span)}))`;

export const p99ByRoute = (scope: Scope): string =>
  `histogram_quantile(0.99, sum by (route, le) (increase(${select('http_request_duration_seconds_bucket', scope)}${range(scope.span)})))`;

export const routeP99 = (scope: Scope, route: string): string =>
  `histogram_quantile(0.99, sum by (le) (increase(${select('http_request_duration_seconds_bucket', scope, [routeMatcher(route)])}${range(scope.span)})))`;

// rate() divides by the whole range, so a version that ran for a third of the window would
// look three times idler than it was; deriv() is the slope over the samples that exist.
/** Requests per second each machine answered, averaged over the machines. */
export const requestRatePerMachine = (scope: Scope): string =>
  `avg(sum by (instance) (deriv(${select('http_requests_total', scope)}${range(scope.span)})))`;

/** CPU cores each machine used, averaged over the machines. */
export const cpuPerMachine = (scope: Scope): string =>
  `avg(deriv(${select('process_cpu_seconds_total', scope)}${range(scope.span)}))`;

/** The largest resident memory of any machine over the span: a leak shows on one first. */
export const peakMemory = (scope: Scope): string =>
  `max(max_over_time(${select('process_resident_memory_bytes', scope)}${range(scope.span)}))`;

export const peakEventLoopLag = (scope: Scope): string =>
  `max(max_over_time(${select('nodejs_eventloop_lag_p99_seconds', scope)}${range(scope.span)}))`;

/** A subquery step that gives about 60 points over the span, at least one a second. */
export const subqueryStep = (span: QuerySpan): number => Math.max(1, Math.round(span.range / 60));

/** `expr` (an instant query) averaged over the span. */
export const averagedOver = (expr: string, span: QuerySpan): string =>
  `avg_over_time((${expr})[${span.range}s:${subqueryStep(span)}s] @ ${span.end})`;

/** `expr` at its worst over the span: the highest, or the lowest for a `<` rule. */
export const worstOver = (expr: string, span: QuerySpan, lowIsBad = false): string =>
  `${lowIsBad ? 'min' : 'max'}_over_time((${expr})[${span.range}s:${subqueryStep(span)}s] @ ${span.end})`;

const templateRule = (metric: 'error_rate' | 'latency_p99'): RollbackRule => ({
  name: metric,
  metric,
  operator: '>',
  threshold: 0,
  relative_to_baseline: false,
});

/**
 * The application's own RED definitions of the error ratio and the p99 latency, averaged
 * over the span: they hold for an application whose metrics are not named like mockserver's.
 * Undefined when the templates cannot select this side (say, {{instances}} of machines
 * that are not known).
 */
export function templateQueries(
  red: REDMetrics,
  scope: Scope,
): { errorRatio: string; p99: string } | undefined {
  if (scope.template === undefined) return undefined;
  try {
    return {
      errorRatio: averagedOver(
        renderTemplate(metricTemplate(templateRule('error_rate'), red), scope.template),
        scope.span,
      ),
      p99: averagedOver(
        renderTemplate(metricTemplate(templateRule('latency_p99'), red), scope.template),
        scope.span,
      ),
    };
  } catch {
    return undefined;
  }
}
