import {
  classifyFault,
  defaultAnomalyThresholds,
  detectAnomaly,
  errorMessage,
  rankSuspects,
  ruleMetricFaultClass,
  type Anomaly,
  type AnomalyThreshold,
  type FaultClass,
  type SignalMeasurement,
  type SignalName,
  type ToolCall,
} from '../../domain';
import type { InstantResult, Sample } from '../metrics';
import {
  cpuPerMachine,
  errorsByRoute,
  p99ByRoute,
  peakEventLoopLag,
  peakMemory,
  querySpan,
  requestRatePerMachine,
  requestsByRoute,
  routeErrorRatio,
  routeP99,
  scopeMatchers,
  templateQueries,
  worstOver,
  type QuerySpan,
  type Scope,
} from './heuristic-queries';
import {
  describeAnomaly,
  duration,
  writeFindings,
  type Baseline,
  type Finding,
} from './heuristic-report';
import type { AnalysisContext, Analyzer, AnalyzerResult } from './types';

/** What the heuristic analyzer needs of Prometheus: instant queries (PrometheusClient has them). */
export interface InstantQuerier {
  instantQuery(promql: string, at?: number): Promise<InstantResult>;
}

export interface HeuristicAnalyzerOptions {
  /** When a signal is anomalous; default `defaultAnomalyThresholds` of domain/fault-class. */
  thresholds?: Record<SignalName, AnomalyThreshold>;
  /** Anomalous series a report lists, strongest first. Default 8. */
  maxAnomalies?: number;
}

/** Every number one side of the comparison gave; undefined where its query failed. */
interface Side {
  scope: Scope;
  requests?: Map<string, number>;
  errors?: Map<string, number>;
  p99?: Map<string, number>;
  requestRate?: number;
  cpu?: number;
  memory?: number;
  eventLoopLag?: number;
  templateErrorRatio?: number;
  templateP99?: number;
  /** Some query returned a series: this side ran in the window. */
  hasData: boolean;
}

// The guard judged its rule against a threshold a person chose: as strong as a clear
// measured anomaly, not stronger than a glaring one.
const guardStrength = 0.6;

/** The metric each signal reads, for the suspect ranking. */
const signalMetric: Record<SignalName, string> = {
  error_ratio: 'http_requests_total',
  latency_p99: 'http_request_duration_seconds',
  request_rate: 'http_requests_total',
  cpu: 'process_cpu_seconds_total',
  memory: 'process_resident_memory_bytes',
  event_loop_lag: 'nodejs_eventloop_lag_p99_seconds',
};

const labelsOf = (metric: Record<string, string>): string =>
  Object.entries(metric)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(',');

function sampleValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** A short account of a result for the tool call's `detail`. */
function describeSamples(samples: readonly Sample[]): string {
  if (samples.length === 0) return 'no series';
  const shown = samples
    .slice(0, 4)
    .map((sample) => `{${labelsOf(sample.metric)}} ${sampleValue(sample.value)}`);
  const more = samples.length > 4 ? `, and ${samples.length - 4} more` : '';
  return `${samples.length} series: ${shown.join(', ')}${more}`;
}

/** The queries of one analysis, each recorded as a tool call in the order they were asked. */
class Investigation {
  readonly calls: ToolCall[] = [];
  readonly errors: string[] = [];
  succeeded = 0;

  constructor(private readonly prometheus: InstantQuerier) {}

  /** The samples of `promql` at the span's end, or undefined when the query failed. */
  async query(promql: string, span: QuerySpan): Promise<Sample[] | undefined> {
    const index =
      this.calls.push({
        tool: 'prometheus.query',
        arguments: { query: promql, time: span.end },
        ok: false,
      }) - 1;
    try {
      const result = await this.prometheus.instantQuery(promql, span.end * 1000);
      const samples =
        result.resultType === 'vector'
          ? result.samples
          : [{ metric: {}, timestamp: result.timestamp, value: result.value }];
      this.calls[index] = {
        tool: 'prometheus.query',
        arguments: { query: promql, time: span.end },
        ok: true,
        detail: describeSamples(samples),
      };
      this.succeeded += 1;
      return samples;
    } catch (error) {
      const message = errorMessage(error);
      this.errors.push(message);
      this.calls[index] = {
        tool: 'prometheus.query',
        arguments: { query: promql, time: span.end },
        ok: false,
        detail: message,
      };
      return undefined;
    }
  }
}

/** Values by route; NaN (0/0: no traffic) is no value. */
function byRoute(samples: Sample[] | undefined): Map<string, number> | undefined {
  if (samples === undefined) return undefined;
  const values = new Map<string, number>();
  for (const sample of samples) {
    const route = sample.metric.route;
    if (route !== undefined && !Number.isNaN(sample.value)) values.set(route, sample.value);
  }
  return values;
}

function single(samples: Sample[] | undefined): number | undefined {
  const value = samples?.[0]?.value;
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

const hasSeries = (samples: Sample[] | undefined): boolean =>
  samples !== undefined && samples.some((sample) => !Number.isNaN(sample.value));

function sum(values: Map<string, number> | undefined): number | undefined {
  if (values === undefined || values.size === 0) return undefined;
  return [...values.values()].reduce((total, value) => total + value, 0);
}

/** The routes named by equality matchers in a query: `route="/api/pay"`. */
function routesIn(promql: string): string[] {
  return [...promql.matchAll(/\broute="((?:[^"\\]|\\.)*)"/g)].map((match) =>
    (match[1] ?? '').replace(/\\(.)/g, '$1'),
  );
}

/**
 * The analyzer used when no LLM is configured (and after one fails): it compares the new
 * version's metrics with its baseline in Prometheus, Kayenta style, finds the series that
 * went bad against clear thresholds, classifies the fault and ranks the release's pull
 * requests against what it found. Read-only; a query that fails is recorded and left out,
 * never thrown, so a report is written even while Prometheus is down.
 */
export class HeuristicAnalyzer implements Analyzer {
  readonly name = 'heuristic';
  private readonly thresholds: Record<SignalName, AnomalyThreshold>;
  private readonly maxAnomalies: number;

  constructor(
    private readonly prometheus: InstantQuerier,
    options: HeuristicAnalyzerOptions = {},
  ) {
    this.thresholds = options.thresholds ?? defaultAnomalyThresholds;
    this.maxAnomalies = options.maxAnomalies ?? 8;
  }

  async analyze(
    context: AnalysisContext,
    progress: (detail: string) => void,
  ): Promise<AnalyzerResult> {
    const investigation = new Investigation(this.prometheus);
    const { app_name: app, version, previous_version: previous, red_metrics: red } = context;
    const windowSpan = querySpan(context.window);
    const scopeOf = (
      span: QuerySpan,
      selected: string | undefined,
      templateVersion: string | undefined,
      instances: readonly string[],
    ): Scope => ({
      matchers: scopeMatchers(red.labels, { app, version: selected, instances }),
      span,
      ...(templateVersion === undefined
        ? {}
        : { template: { app, version: templateVersion, instances } }),
    });

    progress(`measuring ${app} ${version} over the release window`);
    const current = await this.measure(
      investigation,
      context,
      scopeOf(windowSpan, version, version, context.instances),
    );

    // Kayenta style: the machines that still ran the old version during the release are the
    // fairest baseline (same traffic, same time); before the release is the fallback.
    let baselineSide: Side | undefined;
    let baseline: Baseline = {
      label: previous,
      when: `over the same ${duration(windowSpan.range)}`,
      missing: false,
    };
    if (previous !== '') {
      progress(`measuring ${previous} over the same window`);
      // The old version's machines are not known here: its templates cannot use {{instances}}.
      const side = await this.measure(
        investigation,
        context,
        scopeOf(windowSpan, previous, previous, []),
      );
      if (side.hasData) baselineSide = side;
    }
    if (baselineSide === undefined) {
      const baselineSpan = querySpan(context.baseline_window);
      progress(`measuring ${app} before the release`);
      const side = await this.measure(
        investigation,
        context,
        scopeOf(baselineSpan, undefined, previous === '' ? undefined : previous, []),
      );
      baseline = {
        label: app,
        when: `over the ${duration(baselineSpan.range)} before the release`,
        missing: !side.hasData,
      };
      if (side.hasData) baselineSide = side;
    }

    progress('comparing the signals');
    const measured = this.compare(current, baselineSide, context, baseline);
    const guard = await this.guardEvidence(investigation, context, windowSpan);
    const classification = classifyFault(
      measured.map((entry) => entry.anomaly),
      guard.hints,
    );
    const faultClass = classification.fault_class;

    const findings = [...measured.map((entry) => entry.finding), ...guard.findings]
      .sort((a, b) => b.strength - a.strength)
      .slice(0, this.maxAnomalies);
    // A query pinned to one route is what a person wants to paste; it is checked to return data,
    // else the broader query that found the anomaly (and did return data) stands in.
    await Promise.all(
      findings.map(async (finding, index) => {
        const fallback = measured.find((entry) => entry.finding === finding)?.fallbackPromql;
        if (fallback === undefined) return;
        const samples = await investigation.query(finding.promql, windowSpan);
        if (!hasSeries(samples)) findings[index] = { ...finding, promql: fallback };
      }),
    );

    const ofClass = (finding: Finding) =>
      finding.fault_class === faultClass || findings.every((f) => f.fault_class !== faultClass);
    const routes = [
      ...new Set(
        findings
          .filter(ofClass)
          .flatMap((finding) => (finding.route === undefined ? [] : [finding.route])),
      ),
    ];
    const metrics = [
      ...new Set(
        findings
          .filter((finding) => finding.fault_class === faultClass)
          .flatMap((finding) => (finding.metric === undefined ? [] : [finding.metric])),
      ),
    ];
    progress(`ranking ${context.changes.pull_requests.length} pull requests`);
    const suspects = rankSuspects(context.changes.pull_requests, {
      fault_class: faultClass,
      routes,
      metrics,
    });

    const outage =
      investigation.succeeded === 0 && investigation.errors.length > 0
        ? investigation.errors[0]
        : undefined;
    const reportedFindings = writeFindings({
      context,
      findings,
      classification,
      suspects,
      routes,
      baseline,
      ...(outage === undefined ? {} : { outage }),
    });
    return { findings: reportedFindings, tool_calls: investigation.calls };
  }

  /** Every signal of one side, its queries in parallel. */
  private async measure(
    investigation: Investigation,
    context: AnalysisContext,
    scope: Scope,
  ): Promise<Side> {
    const { span } = scope;
    const templates = templateQueries(context.red_metrics, scope);
    const none = Promise.resolve(undefined);
    const [requests, errors, p99, rate, cpu, memory, lag, templateErrors, templateP99] =
      await Promise.all([
        investigation.query(requestsByRoute(scope), span),
        investigation.query(errorsByRoute(scope), span),
        investigation.query(p99ByRoute(scope), span),
        investigation.query(requestRatePerMachine(scope), span),
        investigation.query(cpuPerMachine(scope), span),
        investigation.query(peakMemory(scope), span),
        investigation.query(peakEventLoopLag(scope), span),
        templates === undefined ? none : investigation.query(templates.errorRatio, span),
        templates === undefined ? none : investigation.query(templates.p99, span),
      ]);
    const all = [requests, errors, p99, rate, cpu, memory, lag, templateErrors, templateP99];
    return {
      scope,
      requests: byRoute(requests),
      errors: byRoute(errors),
      p99: byRoute(p99),
      requestRate: single(rate),
      cpu: single(cpu),
      memory: single(memory),
      eventLoopLag: single(lag),
      templateErrorRatio: single(templateErrors),
      templateP99: single(templateP99),
      hasData: all.some(hasSeries),
    };
  }

  /** The anomalies of the new version against the baseline, each with its report entry. */
  private compare(
    current: Side,
    baselineSide: Side | undefined,
    context: AnalysisContext,
    baseline: Baseline,
  ): { anomaly: Anomaly; finding: Finding; fallbackPromql?: string }[] {
    const version = context.version;
    const results: { anomaly: Anomaly; finding: Finding; fallbackPromql?: string }[] = [];
    const consider = (
      measurement: SignalMeasurement,
      promql: string,
      where: { route?: string; errors?: number; requests?: number; overall?: boolean },
      fallbackPromql?: string,
    ): void => {
      const anomaly = detectAnomaly(measurement, this.thresholds);
      if (anomaly === undefined) return;
      results.push({
        anomaly,
        finding: {
          ...describeAnomaly(anomaly, { version, ...where }, baseline),
          promql,
          observed: anomaly.observed,
          ...(anomaly.baseline === undefined ? {} : { baseline: anomaly.baseline }),
          // An overall series says less than the per-route ones it sums up: listed after them.
          strength: where.overall === true ? anomaly.strength * 0.9 : anomaly.strength,
          source: 'measured',
          fault_class: anomaly.fault_class,
          ...(where.route === undefined ? {} : { route: where.route }),
          metric: signalMetric[anomaly.signal],
        },
        ...(fallbackPromql === undefined ? {} : { fallbackPromql }),
      });
    };

    const ratioOn = (side: Side | undefined, route: string): number | undefined => {
      const requests = side?.requests?.get(route);
      if (requests === undefined || requests <= 0 || side?.errors === undefined) return undefined;
      return (side.errors.get(route) ?? 0) / requests;
    };
    // A route is judged by the requests the new version answered there.
    for (const [route, requests] of current.requests ?? []) {
      if (current.errors !== undefined) {
        const errors = current.errors.get(route) ?? 0;
        consider(
          {
            signal: 'error_ratio',
            observed: requests > 0 ? errors / requests : undefined,
            baseline: ratioOn(baselineSide, route),
            requests,
          },
          routeErrorRatio(current.scope, route),
          { route, errors, requests },
          errorsByRoute(current.scope),
        );
      }
      consider(
        {
          signal: 'latency_p99',
          observed: current.p99?.get(route),
          baseline: baselineSide?.p99?.get(route),
          requests,
        },
        routeP99(current.scope, route),
        { route },
        p99ByRoute(current.scope),
      );
    }

    const processSignals: [
      SignalName,
      (side: Side) => number | undefined,
      (scope: Scope) => string,
    ][] = [
      ['request_rate', (side) => side.requestRate, requestRatePerMachine],
      ['cpu', (side) => side.cpu, cpuPerMachine],
      ['memory', (side) => side.memory, peakMemory],
      ['event_loop_lag', (side) => side.eventLoopLag, peakEventLoopLag],
    ];
    for (const [signal, valueOf, query] of processSignals) {
      consider(
        {
          signal,
          observed: valueOf(current),
          baseline: baselineSide === undefined ? undefined : valueOf(baselineSide),
        },
        query(current.scope),
        {},
      );
    }

    // The application's own RED definitions, over all routes: they catch what the per-route
    // queries cannot see when its metrics are named differently.
    const templates = templateQueries(context.red_metrics, current.scope);
    if (templates !== undefined) {
      const requests = sum(current.requests);
      consider(
        {
          signal: 'error_ratio',
          observed: current.templateErrorRatio,
          baseline: baselineSide?.templateErrorRatio,
          ...(requests === undefined ? {} : { requests }),
        },
        templates.errorRatio,
        { overall: true },
      );
      consider(
        {
          signal: 'latency_p99',
          observed: current.templateP99,
          baseline: baselineSide?.templateP99,
          ...(requests === undefined ? {} : { requests }),
        },
        templates.p99,
        { overall: true },
      );
    }
    return results;
  }

  /**
   * The guard's failing rules, pinned to the window (at their worst over it) so that their
   * queries still show the breach later. Each hints at its fault class (and route); a rule
   * whose pinned query returns nothing is not listed: a query that shows nothing proves nothing.
   */
  private async guardEvidence(
    investigation: Investigation,
    context: AnalysisContext,
    span: QuerySpan,
  ): Promise<{ findings: Finding[]; hints: FaultClass[] }> {
    const failing = context.failing.filter((rule) => rule.verdict === 'fail');
    const hints: FaultClass[] = [];
    const findings: Finding[] = [];
    const checked = await Promise.all(
      failing.map(async (rule) => {
        const lowIsBad = rule.operator.startsWith('<');
        const promql = worstOver(rule.promql, span, lowIsBad);
        return { rule, lowIsBad, promql, samples: await investigation.query(promql, span) };
      }),
    );
    for (const { rule, lowIsBad, promql, samples } of checked) {
      const faultClass = ruleMetricFaultClass(rule.metric);
      if (faultClass !== undefined) hints.push(faultClass);
      const worst = single(samples);
      if (worst === undefined) continue;
      const [route] = routesIn(rule.promql);
      findings.push({
        name: `guard rule "${rule.rule}"`,
        promql,
        ...(rule.value === undefined ? {} : { observed: rule.value }),
        ...(rule.baseline === undefined ? {} : { baseline: rule.baseline }),
        headline: rule.message,
        observation:
          `The guard's rule failed: ${rule.message}; at its ${lowIsBad ? 'lowest' : 'highest'} ` +
          `over the window it was ${sampleValue(worst)}.`,
        strength: guardStrength,
        source: 'guard',
        ...(faultClass === undefined ? {} : { fault_class: faultClass }),
        ...(route === undefined ? {} : { route }),
      });
    }
    return { findings, hints };
  }
}
