import { givenUpDeliveries, latestDeliveries } from '../domain/alert-deliveries';
import { byHealth, unknownCount, worstStatus } from '../domain/fleet-health';
import type { ApiError } from './errors';
import type {
  AnalysisReport,
  Application,
  Deployment,
  MachineEvent,
  NotifyChannelView,
  Package,
  ReleaseProgress,
} from '../client';

type AlertDelivery = NonNullable<Deployment['alert_deliveries']>[number];
type RuleResult = NonNullable<NonNullable<Deployment['rollback']>['failing']>[number];
type MachineState = ReleaseProgress['machines'][number] & { error?: string };

/** Columns padded to their widest cell; the last column is never padded. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]!}`;
}

/** UTC, to the second: the same on every machine that reads a pipeline's log. */
export function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Four significant digits: enough to compare with a threshold, short enough to read. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

export function progressBar(done: number, total: number, width = 20): string {
  const fraction = total <= 0 ? 0 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** `45s ago`, `3m ago`, `5h ago`, `2d ago`: how long a state has lasted, at a glance. */
export function formatAgo(epochMs: number, now: number): string {
  const seconds = Math.max(0, Math.floor((now - epochMs) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

export function formatApplications(apps: Application[]): string[] {
  if (apps.length === 0) return ['no applications yet: relguard app create -f app.yaml'];
  return table(
    [
      'NAME',
      'ID',
      'VERSION',
      'HEALTH',
      'HEALTHY',
      'ERROR',
      'ALERT',
      'UNKNOWN',
      'PLATFORM',
      'RELEASE',
    ],
    [...apps]
      .sort(byHealth)
      .map((app) => [
        app.name,
        app.id,
        app.currentVersion || '-',
        worstStatus(app) ?? '-',
        `${app.health_count}/${app.machine_count}`,
        String(app.error_count),
        String(app.alert_count),
        String(unknownCount(app)),
        app.deployment_platform,
        app.active_deployment_id ?? '-',
      ]),
  );
}

export function formatApplication(app: Application, now: number): string[] {
  const { pacer, rollback_policy: policy } = app;
  const batching =
    pacer.batches !== undefined
      ? `batches ${pacer.batches.join('/')}%`
      : `${pacer.batch_size ?? 'default'} per batch`;
  const guard = !policy.enabled
    ? 'off'
    : `${policy.auto_rollback ? 'rolls back' : 'pauses'} after ${policy.consecutive_breaches} breach(es), every ${policy.interval_seconds}s: ${policy.rules.map((rule) => rule.name).join('; ') || 'no rules'}`;
  const fields: [string, string][] = [
    ['name', app.name],
    ['id', app.id],
    ['repo', app.repo || '(none: packages are uploaded)'],
    ['platform', app.deployment_platform],
    ['deploy path', app.deploy_path],
    ['start', app.start_cmd],
    ['version', app.currentVersion || '(none yet)'],
    ['previous', app.prev_version || '-'],
    ['release', app.active_deployment_id ?? '(none running)'],
    [
      'pacer',
      `${batching}, gray bake ${pacer.gray_bake_seconds}s, interval ${pacer.interval_seconds}s${pacer.manual_approval ? ', manual approval' : ''}`,
    ],
    ['guard', guard],
    [
      'health',
      `checked every ${app.health.interval_seconds}s, error after ${app.health.failures_before_error} failed check(s) in a row`,
    ],
    [
      'machines',
      `${app.machine_count} (${app.health_count} healthy, ${app.error_count} error, ${app.alert_count} alert, ${unknownCount(app)} unknown)`,
    ],
  ];
  const width = Math.max(...fields.map(([label]) => label.length));
  const lines = fields.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (app.machines.length === 0) return lines;
  return [
    ...lines,
    '',
    ...table(
      ['MACHINE', 'ADDRESS', 'STATUS', 'VERSION', 'SINCE', 'REASON'],
      app.machines.map((machine) => [
        machine.id,
        `${machine.host}:${machine.port}`,
        machine.status,
        machine.version || '-',
        machine.status_since === undefined ? '-' : formatAgo(machine.status_since, now),
        machine.status_reason || '-',
      ]),
    ),
  ];
}

/** The machines' status changes, newest first, at the times they happened (UTC). */
export function formatMachineEvents(events: MachineEvent[]): string[] {
  if (events.length === 0) return ['machine events: none recorded yet'];
  return [
    'machine events, newest first:',
    ...table(
      ['AT', 'MACHINE', 'STATUS', 'VERSION', 'REASON'],
      events.map((event) => [
        formatTime(event.at),
        event.machine_id,
        event.status,
        event.version || '-',
        event.reason || '-',
      ]),
    ),
  ];
}

export function formatPackages(packages: Package[]): string[] {
  if (packages.length === 0) return ['no packages yet'];
  return table(
    ['VERSION', 'SIZE', 'MD5', 'CREATED'],
    packages.map((pkg) => [
      pkg.version,
      formatBytes(pkg.size),
      pkg.md5,
      formatTime(pkg.created_at),
    ]),
  );
}

/** The machines and their states: live from the workflow while it runs, else as stored. */
function machinesOf(view: Deployment): MachineState[] {
  const stored = new Map(view.node_deployments.map((node) => [node.machine_id, node]));
  if (view.progress !== undefined) {
    return view.progress.machines.map((machine) => {
      const error = stored.get(machine.machine_id)?.error;
      return error === undefined ? machine : { ...machine, error };
    });
  }
  return view.node_deployments.map((node) => ({
    machine_id: node.machine_id,
    batch: node.batch,
    status: node.status,
    ...(node.error === undefined ? {} : { error: node.error }),
  }));
}

/** Batch 0 is the gray machine; the batches after it count from 1, as the release's phase says. */
export function batchLabel(batch: number, batches: number): string {
  return batch === 0 ? 'gray machine' : `batch ${batch} of ${Math.max(1, batches - 1)}`;
}

function batchOf(view: Deployment, machines: MachineState[]): { batch: number; batches: number } {
  if (view.progress !== undefined) {
    return { batch: view.progress.batch, batches: view.progress.batches };
  }
  const batches = Math.max(0, ...machines.map((machine) => machine.batch)) + 1;
  const touched = machines.filter((machine) => machine.status !== 'pending');
  return { batch: Math.max(0, ...touched.map((machine) => machine.batch)), batches };
}

/** The workflow's own status while it runs: the stored one follows it a write behind. */
function statusOf(view: Deployment): string {
  return view.progress?.status ?? view.status;
}

/** What the running workflow is doing; an ended release has only its status. */
function phaseOf(view: Deployment): string | undefined {
  return view.progress?.phase;
}

function reasonOf(view: Deployment): string | undefined {
  return view.reason ?? view.rollback?.reason ?? view.progress?.reason;
}

function batchLine(view: Deployment, machines: MachineState[]): string {
  const { batch, batches } = batchOf(view, machines);
  const deployed = machines.filter((machine) => machine.status === 'deployed').length;
  return `${batchLabel(batch, batches)} ${progressBar(deployed, machines.length)} ${deployed}/${machines.length} machines on ${view.package_version}`;
}

function machineLine(machine: MachineState): string {
  const error = machine.error === undefined ? '' : `: ${machine.error}`;
  return `${machine.machine_id} (batch ${machine.batch}) ${machine.status}${error}`;
}

export function formatFailingRule(rule: RuleResult): string[] {
  const value =
    rule.value === undefined
      ? rule.message
      : `${rule.metric} = ${formatNumber(rule.value)} ${rule.operator} ${formatNumber(rule.threshold)}${rule.baseline === undefined ? '' : ` (baseline ${formatNumber(rule.baseline)})`}`;
  return [`- ${rule.rule}: ${value} [${rule.verdict}]`, `  ${rule.promql}`];
}

function reasonLines(view: Deployment): string[] {
  const reason = reasonOf(view);
  const by = view.rollback?.requested_by;
  const lines = reason === undefined ? [] : [`reason: ${reason}${by ? ` (by ${by})` : ''}`];
  const failing = view.rollback?.failing ?? [];
  if (failing.length > 0) {
    lines.push('failing rules:', ...failing.flatMap((rule) => formatFailingRule(rule)));
  }
  return lines;
}

/** What a person can do about the wait the release is in, if anything. */
function statusHint(view: Deployment): string {
  if (view.progress?.awaitingApproval) return ' (waiting for approval: relguard release approve)';
  const judgement = view.progress?.awaitingJudgement;
  if (judgement !== undefined) {
    return ` (waiting for the metric guard: ${judgement.required} judged evaluations of ${judgement.machines} machine(s); relguard release promote skips it)`;
  }
  if (view.progress?.promotable) return ' (relguard release promote ends the wait)';
  return '';
}

/** The notification channels by name (GET /api/v1/channels), to say what a channel is. */
export type ChannelsByName = ReadonlyMap<string, NotifyChannelView>;

function channelLabel(channel: string, channels: ChannelsByName | undefined): string {
  const info = channels?.get(channel);
  return info === undefined ? channel : `${channel} (${info.type} ${info.host})`;
}

/** An alert relguard gave up delivering, said so that nobody misses it. */
export function undeliveredLine(delivery: AlertDelivery, channels?: ChannelsByName): string {
  return `ALERT NOT DELIVERED ${delivery.kind} → ${channelLabel(delivery.channel, channels)}: ${delivery.error ?? 'no reason recorded'} (attempt ${delivery.attempt})`;
}

/** Where one alert's delivery to one channel stands, on one line. */
export function deliveryLine(delivery: AlertDelivery, channels?: ChannelsByName): string {
  if (delivery.status === 'failed') return undeliveredLine(delivery, channels);
  const error = delivery.error === undefined ? '' : `: ${delivery.error}`;
  return `alert ${delivery.kind} → ${delivery.channel} ${delivery.status} (attempt ${delivery.attempt})${error}`;
}

/** Every alert given up on, loudly, even one a later alert of its kind got through after. */
export function undeliveredLines(view: Deployment, channels?: ChannelsByName): string[] {
  return givenUpDeliveries(view.alert_deliveries).map((delivery) =>
    undeliveredLine(delivery, channels),
  );
}

/**
 * The release's alerts: where each delivery (kind, channel) stands, with its attempts and why
 * it did not go through, then each one given up on in capitals. Nothing when none was sent.
 */
export function alertLines(view: Deployment, channels?: ChannelsByName): string[] {
  const latest = latestDeliveries(view.alert_deliveries);
  if (latest.length === 0) return [];
  const rows = table(
    ['KIND', 'CHANNEL', 'STATUS', 'ATTEMPTS', 'AT', 'REASON'],
    latest.map((delivery) => [
      delivery.kind,
      delivery.channel,
      delivery.status,
      String(delivery.attempt),
      formatTime(delivery.at),
      delivery.error ?? '-',
    ]),
  );
  return ['alerts:', ...rows.map((row) => `  ${row}`), ...undeliveredLines(view, channels)];
}

/**
 * The whole state of a release, as `release status` prints it and `release watch` redraws it:
 * status, phase, the batch with a progress bar, every machine, why it stopped, its alerts.
 */
export function releaseFrame(view: Deployment, now: number, channels?: ChannelsByName): string[] {
  const machines = machinesOf(view);
  const waiting = view.progress?.waitingUntil;
  const left =
    waiting === undefined || waiting <= now ? '' : ` (${Math.ceil((waiting - now) / 1000)}s left)`;
  const previous = view.previous_version ? ` (was ${view.previous_version})` : '';
  return [
    `release ${view.id}: ${view.app_name} ${view.package_version}${previous}`,
    `status   ${statusOf(view)}${statusHint(view)}`,
    ...(phaseOf(view) === undefined ? [] : [`phase    ${phaseOf(view)}${left}`]),
    `progress ${batchLine(view, machines)}`,
    ...machines.map((machine) => `  ${machineLine(machine)}`),
    ...reasonLines(view),
    ...alertLines(view, channels),
    `workflow ${view.workflow_url}`,
  ];
}

/**
 * The release as keyed facts, for a log that prints a line when one changes: nothing in
 * them moves by itself (no countdown), so a quiet release prints nothing.
 */
export function releaseFacts(view: Deployment, channels?: ChannelsByName): [string, string][] {
  const machines = machinesOf(view);
  const facts: [string, string][] = [
    [
      'status',
      `status ${statusOf(view)}${phaseOf(view) === undefined ? '' : `: ${phaseOf(view)}`}`,
    ],
    ['progress', batchLine(view, machines)],
    ...machines.map((machine): [string, string] => [
      `machine ${machine.machine_id}`,
      `machine ${machineLine(machine)}`,
    ]),
  ];
  const reason = reasonOf(view);
  if (reason !== undefined) facts.push(['reason', `reason: ${reason}`]);
  for (const delivery of latestDeliveries(view.alert_deliveries)) {
    facts.push([`alert ${delivery.kind} ${delivery.channel}`, deliveryLine(delivery, channels)]);
  }
  return facts;
}

/**
 * How a release ended, in words, with the reason and the failing rules when it went wrong, and
 * each alert about it that relguard could not deliver.
 */
export function outcomeLines(view: Deployment, channels?: ChannelsByName): string[] {
  return [...endLines(view), ...undeliveredLines(view, channels)];
}

function endLines(view: Deployment): string[] {
  const machines = view.node_deployments.length;
  switch (view.status) {
    case 'succeeded':
      return [
        `release ${view.id} succeeded: ${view.app_name} ${view.package_version} on ${machines} machine(s)`,
      ];
    case 'rolled_back':
      return [
        `release ${view.id} rolled back: ${view.app_name} is back on ${view.previous_version || 'nothing (first release)'}`,
        ...reasonLines(view),
      ];
    default:
      return [`release ${view.id} ${view.status.replace('_', ' ')}`, ...reasonLines(view)];
  }
}

export function formatReport(report: AnalysisReport): string[] {
  const lines = [
    `analysis of ${report.app_name} ${report.version} (was ${report.previous_version || 'nothing'}), ${report.trigger}: ${report.reason}`,
    `summary     ${report.summary}`,
    `fault       ${report.fault_class}, confidence ${Math.round(report.confidence * 100)}%, by ${report.analyzer}${report.model ? ` (${report.model})` : ''}`,
    `root cause  ${report.root_cause}`,
  ];
  if (report.anomalous_metrics.length > 0) {
    lines.push('', 'anomalous metrics:');
    for (const metric of report.anomalous_metrics) {
      const observed = metric.observed === undefined ? '' : ` ${formatNumber(metric.observed)}`;
      const baseline =
        metric.baseline === undefined ? '' : ` against ${formatNumber(metric.baseline)}`;
      lines.push(
        `- ${metric.name}:${observed}${baseline}: ${metric.observation}`,
        `  ${metric.promql}`,
      );
    }
  }
  if (report.suspect_changes.length > 0) {
    lines.push('', 'suspect changes:');
    for (const change of report.suspect_changes) {
      const number = change.number === undefined ? '' : `#${change.number} `;
      lines.push(
        `- ${number}${change.title} (score ${formatNumber(change.score)})${change.url ? ` ${change.url}` : ''}`,
        ...change.evidence.map((evidence) => `  ${evidence}`),
      );
    }
  }
  lines.push('', 'remediation:', ...report.remediation.map((step) => `- ${step}`));
  lines.push('', 'relguard analysis show --markdown has the whole report.');
  return lines;
}

interface FieldProblem {
  field: string;
  message: string;
}

function fieldProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  return details.filter(
    (detail): detail is FieldProblem =>
      typeof detail === 'object' &&
      detail !== null &&
      typeof (detail as FieldProblem).field === 'string' &&
      typeof (detail as FieldProblem).message === 'string',
  );
}

/**
 * An api error for a person: the api's message with its status and code, each refused field
 * on a line of its own, and what to do about a missing or weak token.
 */
export function formatApiError(error: ApiError): string[] {
  if (error.status === 0) return [error.message];
  const problems = fieldProblems(error.details);
  let message = error.message;
  // The api's validation message lists the fields inline too; they get lines of their own here.
  const inline = problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
  if (problems.length > 0 && message.endsWith(`: ${inline}`)) {
    message = message.slice(0, -(inline.length + 2));
  }
  const lines = [`${message} (${error.status} ${error.code})`];
  lines.push(...problems.map((problem) => `  ${problem.field}: ${problem.message}`));
  if (error.status === 401) {
    lines.push(
      'the api wants a token: pass --token, set RELGUARD_TOKEN, or run ./temporal-dev.sh up to write .relguard/token',
    );
  } else if (error.status === 403) {
    lines.push("the token's role does not allow this");
  }
  return lines;
}
