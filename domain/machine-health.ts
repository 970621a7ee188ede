import type { MachineStatus } from './application';

/**
 * How a machine's live status follows from what one health check saw of it. The watcher
 * (workflows/app-health) asks the platform, Prometheus and the alerts every interval; this
 * module decides, so the rules are one pure function with table-driven tests.
 *
 * Worst first: `error` (failing for `failures_before_error` checks in a row) beats `alert` (an
 * alert fires for it), which beats `unknown` (relguard cannot tell, for as many checks in a
 * row), which beats `healthy`. Until a failure or a doubt has lasted that long the machine
 * keeps its status: one lost probe neither pages anybody nor paints the machine grey.
 */

/** One watcher per application: `health-<app id>`. */
export function appHealthWorkflowId(appId: string): string {
  return `health-${appId}`;
}

/** The platform's answer for the machine, asked over HTTP (and, for `local`, its process). */
export type PlatformCheck =
  | { state: 'ok' }
  | { state: 'failed'; reason: string }
  /** The platform could not be asked at all (SSH down, the check itself broke). */
  | { state: 'unreachable'; reason: string };

/** The scrape health of the machine's Prometheus target (`up`). */
export type ScrapeHealth =
  | { state: 'up' }
  | { state: 'down' }
  /** Prometheus answered and has no target for the machine. */
  | { state: 'absent' }
  /**
   * No target yet, but the machine changed so recently (a deploy) that Prometheus may not have
   * discovered and scraped it: neither a pass nor a doubt.
   */
  | { state: 'discovering' }
  /** Prometheus did not answer. */
  | { state: 'unavailable'; reason: string };

/** What one check saw of one machine. */
export interface MachineObservation {
  machineId: string;
  /** The version relguard deployed on it; '' when it runs none. */
  version: string;
  check: PlatformCheck;
  scrape: ScrapeHealth;
  /** Names of the alerts firing for it now (Alertmanager's webhook and Prometheus' ALERTS). */
  alerts: string[];
}

export interface MachineHealthSettings {
  interval_seconds: number;
  failures_before_error: number;
}

/** Entries into `error` within this many intervals make a machine flapping. */
export const flapWindowIntervals = 10;
/** This many entries into `error` within the window: one `flapping` notice, then quiet. */
export const flapDowns = 3;

/** The watcher's memory of one machine, carried across checks and continue-as-new. */
export interface MachineHealthState {
  status: MachineStatus;
  reason: string;
  /** When it entered `status` (epoch ms). */
  since: number;
  /** Failed checks in a row. */
  failures: number;
  /** Checks in a row that could not tell. */
  doubts: number;
  /** When it entered `error`, within the flap window. */
  downs: number[];
  /** Flapping: notices held until the status has been steady for the flap window. */
  quiet: boolean;
  /** The last bad news announced for it, so that its end is announced once. */
  announced?: 'down' | 'blind';
  /** Whether the watcher has checked it yet (before, the status is the stored one). */
  judged: boolean;
}

export type HealthNoticeKind = 'down' | 'blind' | 'recovered' | 'flapping' | 'settled';

/** A change people are told of, on the policy's channels. */
export interface HealthNotice {
  kind: HealthNoticeKind;
  machineId: string;
  version: string;
  status: MachineStatus;
  reason: string;
  since: number;
}

/** The watcher's first view of a machine: the status as stored (by a release, or earlier). */
export function initialMachineState(
  machine: { status: MachineStatus; status_reason?: string; status_since?: number },
  now: number,
): MachineHealthState {
  return {
    status: machine.status,
    reason: machine.status_reason ?? 'not checked yet',
    since: machine.status_since ?? now,
    failures: 0,
    doubts: 0,
    downs: [],
    quiet: false,
    judged: false,
  };
}

function failureOf(observation: MachineObservation): string | undefined {
  const reasons: string[] = [];
  if (observation.check.state === 'failed') {
    reasons.push(`fails its health check (${observation.check.reason})`);
  }
  if (observation.scrape.state === 'down') {
    reasons.push('Prometheus cannot scrape it (up == 0)');
  }
  return reasons.length > 0 ? reasons.join(' and ') : undefined;
}

function doubtOf(observation: MachineObservation): string | undefined {
  if (observation.check.state === 'unreachable') {
    return `its platform cannot be asked (${observation.check.reason})`;
  }
  if (observation.scrape.state === 'unavailable') {
    return `Prometheus cannot be asked (${observation.scrape.reason}); its health check passes`;
  }
  if (observation.scrape.state === 'absent') {
    return "its health check passes, but Prometheus has no target for it (is relguard's targets folder in file_sd_configs?)";
  }
  return undefined;
}

/** The status one observation calls for, before hysteresis: what the checks say now. */
function verdict(
  previous: MachineHealthState,
  observation: MachineObservation,
  settings: MachineHealthSettings,
): Pick<MachineHealthState, 'status' | 'reason' | 'failures' | 'doubts'> {
  const limit = settings.failures_before_error;
  const keep = { status: previous.status, reason: previous.reason };

  if (observation.version === '') {
    // Nothing of relguard's runs there: a silent port is expected, not an outage; an alert
    // that names it is still news.
    if (observation.alerts.length > 0) return { ...alerting(observation), failures: 0, doubts: 0 };
    return observation.check.state === 'ok'
      ? { status: 'healthy', reason: 'answers its health check', failures: 0, doubts: 0 }
      : {
          status: 'unknown',
          reason: 'runs no version deployed by relguard',
          failures: 0,
          doubts: 0,
        };
  }

  const failure = failureOf(observation);
  if (failure !== undefined) {
    const failures = previous.failures + 1;
    if (failures >= limit) {
      return {
        status: 'error',
        reason: `${failure}; ${failures} check${failures === 1 ? '' : 's'} in a row`,
        failures,
        doubts: 0,
      };
    }
    if (observation.alerts.length > 0) {
      return { ...alerting(observation), failures, doubts: 0 };
    }
    return !previous.judged && previous.status === 'unknown'
      ? {
          status: 'unknown',
          reason: `${failure}; ${failures} of ${limit} checks`,
          failures,
          doubts: 0,
        }
      : { ...keep, failures, doubts: 0 };
  }

  if (observation.alerts.length > 0) return { ...alerting(observation), failures: 0, doubts: 0 };

  if (observation.scrape.state === 'discovering') {
    return { ...keep, failures: previous.failures, doubts: previous.doubts };
  }

  const doubt = doubtOf(observation);
  if (doubt !== undefined) {
    const doubts = previous.doubts + 1;
    // A doubt is not a pass: failures seen before it still count towards `error`.
    if (doubts >= limit || previous.status === 'unknown') {
      return { status: 'unknown', reason: doubt, failures: previous.failures, doubts };
    }
    return { ...keep, failures: previous.failures, doubts };
  }

  return {
    status: 'healthy',
    reason: 'answers its health check and Prometheus scrapes it',
    failures: 0,
    doubts: 0,
  };
}

function alerting(observation: MachineObservation): { status: MachineStatus; reason: string } {
  const names = [...new Set(observation.alerts)].sort();
  return { status: 'alert', reason: `alert firing: ${names.join(', ')}` };
}

/**
 * The machine's next state after one check, and what to tell people, if anything. Entering
 * `error` is announced, as is losing sight of a machine that was known (`blind`), and the end
 * of either once; a machine that entered `error` `flapDowns` times within the flap window is
 * announced once as flapping and then kept quiet until its status has held for the window.
 */
export function judgeMachine(
  previous: MachineHealthState,
  observation: MachineObservation,
  settings: MachineHealthSettings,
  now: number,
): { state: MachineHealthState; notice?: HealthNotice } {
  const next = verdict(previous, observation, settings);
  const windowMs = flapWindowIntervals * settings.interval_seconds * 1000;
  const changed = next.status !== previous.status;
  const state: MachineHealthState = {
    ...previous,
    ...next,
    since: changed ? now : previous.since,
    judged: true,
    downs: previous.downs.filter((at) => now - at < windowMs),
  };
  const notice = (kind: HealthNoticeKind): HealthNotice => ({
    kind,
    machineId: observation.machineId,
    version: observation.version,
    status: state.status,
    reason: state.reason,
    since: state.since,
  });

  if (changed && state.status === 'error') {
    state.downs = [...state.downs, now];
    // Down, then out of sight, then down again: the same outage, already announced.
    if (state.quiet || previous.announced === 'down') return { state };
    state.announced = 'down';
    if (state.downs.length >= flapDowns) {
      state.quiet = true;
      return { state, notice: notice('flapping') };
    }
    return { state, notice: notice('down') };
  }

  if (state.quiet) {
    if (now - state.since < windowMs) return { state };
    state.quiet = false;
    state.announced = state.status === 'error' ? 'down' : undefined;
    return { state, notice: notice('settled') };
  }

  if (changed && state.status === 'unknown' && previous.status !== 'error') {
    // A machine that was never judged has nothing to lose sight of.
    if (!previous.judged || observation.version === '') return { state };
    state.announced = 'blind';
    return { state, notice: notice('blind') };
  }

  if (
    changed &&
    state.announced !== undefined &&
    (state.status === 'healthy' || state.status === 'alert')
  ) {
    state.announced = undefined;
    return { state, notice: notice('recovered') };
  }
  return { state };
}

/** The stored fields of a machine's status, as the watcher writes them. */
export interface MachineStatusRecord {
  status: MachineStatus;
  status_reason: string;
  status_since: number;
}

export function statusRecord(state: MachineHealthState): MachineStatusRecord {
  return { status: state.status, status_reason: state.reason, status_since: state.since };
}

/** One line per notice kind, for alerts and logs. */
export function describeNotice(notice: HealthNotice, appName: string): string {
  const machine = `${appName}/${notice.machineId}${notice.version ? ` (${notice.version})` : ''}`;
  const since = new Date(notice.since).toISOString();
  switch (notice.kind) {
    case 'down':
      return `${machine} is down since ${since}: ${notice.reason}`;
    case 'blind':
      return `${machine} cannot be judged since ${since}: ${notice.reason}`;
    case 'recovered':
      return `${machine} recovered at ${since}: ${notice.status}, ${notice.reason}`;
    case 'flapping':
      return `${machine} is flapping (down ${flapDowns} times within ${flapWindowIntervals} checks), down since ${since}: ${notice.reason}; further changes are announced once it holds a status for ${flapWindowIntervals} checks`;
    case 'settled':
      return `${machine} stopped flapping: ${notice.status} since ${since} (${notice.reason})`;
  }
}
