import type {
  AnalysisFindings,
  Anomaly,
  FaultClass,
  FaultClassification,
  SignalName,
  SuspectChange,
} from '../../domain';
import type { AnalysisContext } from './types';

/**
 * The words of a heuristic report: what a person on call reads at 3 a.m., so it says what
 * broke, where, against what, and what to do first, with the numbers.
 */

/** A series that went bad, as the report shows it. */
export interface Finding {
  name: string;
  /** Pasteable: pinned to the window with `@`, and checked to return data. */
  promql: string;
  observed?: number;
  baseline?: number;
  /** The sentence for `observation`. */
  observation: string;
  /** The clause for the summary: "48% of /api/pay requests failed with 5xx (0% on v1.0.0)". */
  headline: string;
  /** 0..1, to order the report; the guard's rules rank with the measured series. */
  strength: number;
  /** Measured by the analysis, or a failing rule of the guard's. */
  source: 'measured' | 'guard';
  fault_class?: FaultClass;
  route?: string;
  /** The metric name behind it, for the suspect ranking. */
  metric?: string;
}

/** How the new version was compared, for the sentences. */
export interface Baseline {
  /** "v1.0.0" or "shop before the release". */
  label: string;
  /** "over the same 27 s" or "over the 27 s before the release". */
  when: string;
  /** No baseline had data: only absolute limits judged. */
  missing: boolean;
}

const MB = 1024 * 1024;

export function percent(ratio: number): string {
  const value = ratio * 100;
  if (value === 0 || value >= 10) return `${Math.round(value)}%`;
  return `${Number(value.toPrecision(2))}%`;
}

export function seconds(value: number): string {
  if (value === Infinity) return 'over the largest histogram bucket';
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  return `${Number(value.toPrecision(3))} s`;
}

const cores = (value: number): string => `${Number(value.toPrecision(2))} cores`;
const megabytes = (value: number): string => `${Math.round(value / MB)} MB`;
const perSecond = (value: number): string => `${Number(value.toPrecision(2))} req/s`;

export function duration(totalSeconds: number): string {
  if (totalSeconds < 120) return `${totalSeconds} s`;
  if (totalSeconds < 7200) return `${Math.round(totalSeconds / 60)} min`;
  return `${Number((totalSeconds / 3600).toFixed(1))} h`;
}

const times = (anomaly: Pick<Anomaly, 'ratio'>): string =>
  anomaly.ratio === undefined || !Number.isFinite(anomaly.ratio) || anomaly.ratio === 0
    ? ''
    : `, ${Number(anomaly.ratio.toPrecision(2))}x`;

const valueFormat: Record<SignalName, (value: number) => string> = {
  error_ratio: percent,
  latency_p99: seconds,
  request_rate: perSecond,
  cpu: cores,
  memory: megabytes,
  event_loop_lag: seconds,
};

/** The name, headline and observation of one measured anomaly. */
export function describeAnomaly(
  anomaly: Anomaly,
  where: { version: string; route?: string; errors?: number; requests?: number; overall?: boolean },
  baseline: Baseline,
): Pick<Finding, 'name' | 'headline' | 'observation'> {
  const format = valueFormat[anomaly.signal];
  const observed = format(anomaly.observed);
  const against =
    anomaly.baseline === undefined
      ? 'with no baseline to compare, past the absolute limit'
      : `against ${format(anomaly.baseline)} on ${baseline.label} ${baseline.when}${times(anomaly)}`;
  const short =
    anomaly.baseline === undefined ? '' : ` (${format(anomaly.baseline)} on ${baseline.label})`;
  const { version, route } = where;
  const subject = route ?? 'all requests';

  switch (anomaly.signal) {
    case 'error_ratio': {
      const counted =
        where.errors !== undefined && where.requests !== undefined
          ? ` (${Math.round(where.errors)} of ${Math.round(where.requests)})`
          : '';
      return {
        name: route === undefined ? `error ratio of ${version}` : `error ratio of ${route}`,
        headline: `${observed} of ${route ?? 'all'} requests failed with 5xx${short}`,
        observation:
          `${observed} of ${route === undefined ? 'the' : route} requests on ${version} answered 5xx` +
          `${counted}, ${against}: ${route === undefined ? 'the service fails its callers' : 'callers of this route see errors'}.`,
      };
    }
    case 'latency_p99':
      return {
        name: route === undefined ? `p99 latency of ${version}` : `p99 latency of ${route}`,
        headline: `p99 of ${route ?? 'all requests'} rose to ${observed}${short}`,
        observation: `The p99 latency of ${subject} on ${version} was ${observed}, ${against}: one request in a hundred waits this long or longer.`,
      };
    case 'request_rate':
      return {
        name: 'requests answered per machine',
        headline: `each machine answered only ${observed}${short}`,
        observation: `Each machine on ${version} answered ${observed}, ${against}: requests are dropped, hung or refused before they are counted.`,
      };
    case 'cpu':
      return {
        name: 'CPU per machine',
        headline: `CPU rose to ${observed} per machine${short}`,
        observation: `Each machine on ${version} used ${observed}, ${against}: the new code burns CPU the old did not.`,
      };
    case 'memory':
      return {
        name: 'peak resident memory',
        headline: `resident memory peaked at ${observed}${short}`,
        observation: `The largest ${version} process held ${observed} of resident memory, ${against}: memory grows with the new code.`,
      };
    case 'event_loop_lag':
      return {
        name: 'event-loop lag p99',
        headline: `the event loop stalled up to ${observed}${short}`,
        observation: `The event-loop lag p99 of ${version} peaked at ${observed}, ${against}: the process stalls and every request waits.`,
      };
  }
}

const verbs: Record<AnalysisContext['trigger'], string> = {
  rollback: 'was rolled back',
  alert: 'raised an alert',
  manual: 'was analyzed on request',
};

/** A suspect strong enough to name as the cause. */
export const namedSuspectScore = 0.4;

const prName = (suspect: SuspectChange): string =>
  `${suspect.number === undefined ? 'change' : `PR #${suspect.number}`} "${suspect.title}"`;

const listed = (items: readonly string[]): string =>
  items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;

function faultSentence(faultClass: FaultClass, version: string, routes: readonly string[]): string {
  const where = routes.length === 0 ? '' : ` on ${listed(routes)}`;
  switch (faultClass) {
    case 'errors':
      return `Requests${where} fail with 5xx on ${version}`;
    case 'latency':
      return `Requests${where} got slower on ${version}`;
    case 'cpu':
      return `${version} burns more CPU than the version before it`;
    case 'memory':
      return `${version} holds more memory than the version before it`;
    case 'saturation':
      return `${version} stalls or loses requests${where}`;
    case 'unknown':
      return `No metric of ${version} singles out a fault`;
  }
}

function remediationFor(
  faultClass: FaultClass,
  version: string,
  routes: readonly string[],
): string[] {
  const where = routes.length === 0 ? 'the routes that failed' : listed(routes);
  switch (faultClass) {
    case 'errors':
      return [
        `Read the 5xx answers and the error logs of ${version} on ${where}: find the code path that answers with the error and why.`,
        `Add a test that sends the failing requests to ${where} before the next release.`,
      ];
    case 'latency':
      return [
        `Profile ${where} on ${version}: look for added sleeps, timeouts, awaits in loops and slower downstream calls.`,
        `Compare the downstream calls ${version} makes per request with the previous version's.`,
      ];
    case 'cpu':
      return [
        `Take a CPU profile of ${version} under the same traffic (node --cpu-prof): look for hot loops, hashing, regular expressions or sorting the release added.`,
      ];
    case 'memory':
      return [
        `Take two heap snapshots of ${version} a minute apart and compare them: look for caches, buffers, maps or listeners that only grow.`,
      ];
    case 'saturation':
      return [
        `Check the connection pools, queues and concurrency limits of ${version}, and the network path to its machines: requests stall or are lost before they are answered.`,
      ];
    case 'unknown':
      return [
        `Compare ${version} with the previous version by hand (logs, the guard's rules, the diff): the metrics did not single out a fault.`,
        'If the guard acted on noise, review the thresholds of its rules.',
      ];
  }
}

export interface ReportInput {
  context: AnalysisContext;
  findings: readonly Finding[];
  classification: FaultClassification;
  suspects: readonly SuspectChange[];
  /** The routes the suspects were ranked against. */
  routes: readonly string[];
  baseline: Baseline;
  /** Why no metric could be read at all (Prometheus down), if so. */
  outage?: string;
}

/**
 * How much to trust the findings: how clearly the metrics point at one fault class, and how
 * clearly one pull request stands out. Evidence from the guard alone caps it at 0.5, no
 * measured anomaly at all leaves it near zero.
 */
export function confidenceOf(input: ReportInput): number {
  const { classification, suspects, findings } = input;
  if (classification.fault_class === 'unknown') return input.outage === undefined ? 0.1 : 0.05;
  const [top, second] = suspects;
  const suspectFactor =
    top === undefined || top.score === 0
      ? 0
      : top.score * (1 - (0.5 * (second?.score ?? 0)) / top.score);
  const confidence = 0.2 + 0.4 * classification.strength + 0.35 * suspectFactor;
  const measured = findings.some((finding) => finding.source === 'measured');
  return Math.round(Math.min(measured ? 0.95 : 0.5, confidence) * 100) / 100;
}

/** The findings of the heuristic analysis, in words. */
export function writeFindings(input: ReportInput): AnalysisFindings {
  const { context, findings, classification, suspects, routes, baseline } = input;
  const { app_name: app, version, previous_version: previous } = context;
  const faultClass = classification.fault_class;
  const subject = `${app} ${version} ${verbs[context.trigger]}`;
  const [top, second] = suspects;
  const named = top !== undefined && top.score >= namedSuspectScore ? top : undefined;

  let summary: string;
  if (input.outage !== undefined) {
    summary = `${subject} (${context.reason}), but Prometheus could not be queried (${input.outage}), so no metric was compared.`;
  } else if (faultClass === 'unknown') {
    const compared = baseline.missing
      ? `on its own (no baseline had data: neither ${previous || 'an older version'} during the release nor ${app} before it)`
      : `against ${baseline.label} ${baseline.when}`;
    const [guardRule] = findings;
    summary =
      guardRule === undefined
        ? `${subject} (${context.reason}), but no metric of ${version} stood out ${compared}: ` +
          'error ratio, p99 latency, traffic, CPU, memory and event-loop lag all stayed within ' +
          'their thresholds.'
        : `${subject}: ${guardRule.headline}, but none of the error ratio, p99 latency, traffic, ` +
          `CPU, memory and event-loop lag of ${version} stood out ${compared}.`;
  } else {
    const [first] = findings;
    const more = findings.length > 1 ? `, plus ${findings.length - 1} more anomalous series` : '';
    summary = `${subject}: ${first?.headline ?? faultSentence(faultClass, version, routes)}${more}.`;
  }
  if (named !== undefined) {
    summary += ` Most likely cause: ${prName(named)} (score ${named.score}).`;
  } else if (suspects.length > 0 && faultClass !== 'unknown') {
    summary += ' No pull request clearly explains it.';
  }

  const fault = faultSentence(faultClass, version, routes);
  let rootCause: string;
  if (faultClass === 'unknown') {
    rootCause = `Undetermined: ${input.outage === undefined ? `no metric of ${version} singles out a fault` : 'the metrics could not be read'}.`;
    if (top !== undefined) {
      rootCause +=
        ` Of the pull requests, ${prName(top)} scores highest (${top.score}: ` +
        `${top.evidence[0] ?? ''}), which alone proves little.`;
    }
    rootCause += ` The ${context.trigger} gave this reason: ${context.reason}.`;
  } else if (named !== undefined) {
    rootCause =
      `${fault}. The most likely cause is ${prName(named)}` +
      `${named.author === undefined ? '' : ` by ${named.author}`} (score ${named.score}): ` +
      `${named.evidence.slice(0, 3).join('; ')}.`;
    if (second !== undefined && named.score - second.score < 0.15) {
      rootCause += ` ${prName(second)} (score ${second.score}) is almost as likely: ${second.evidence[0] ?? ''}.`;
    }
  } else if (top !== undefined) {
    rootCause =
      `${fault}, but no pull request clearly matches; the closest is ${prName(top)} ` +
      `(score ${top.score}: ${top.evidence[0] ?? ''}). Look beyond the code as well: ` +
      'configuration, data, dependencies and the machines.';
  } else {
    const why =
      context.changes.note ??
      (context.changes.source === 'none'
        ? 'no source of changes is configured'
        : 'the release lists none');
    rootCause = `${fault}. No pull request could be weighed: ${why}.`;
  }

  const remediation: string[] = [];
  if (previous === '') {
    remediation.push(`Keep ${version} away from production until the fault is understood.`);
  } else if (context.trigger === 'rollback') {
    remediation.push(
      `Keep ${previous} on every machine (the rollback restored it) and hold ${version} back until it is fixed.`,
    );
  } else {
    remediation.push(`Roll back to ${previous} if ${version} still serves traffic.`);
  }
  if (named !== undefined) {
    remediation.push(`Start with ${prName(named)}: revert or fix it, then release again.`);
  }
  remediation.push(...remediationFor(faultClass, version, routes));
  if (input.outage !== undefined) {
    remediation.push('Check that Prometheus is up and reachable, then run the analysis again.');
  }

  return {
    summary,
    fault_class: faultClass,
    anomalous_metrics: findings.map((finding) => ({
      name: finding.name,
      promql: finding.promql,
      ...(finding.observed === undefined || !Number.isFinite(finding.observed)
        ? {}
        : { observed: finding.observed }),
      ...(finding.baseline === undefined || !Number.isFinite(finding.baseline)
        ? {}
        : { baseline: finding.baseline }),
      observation: finding.observation,
    })),
    root_cause: rootCause,
    suspect_changes: [...suspects],
    remediation,
    confidence: confidenceOf(input),
  };
}
