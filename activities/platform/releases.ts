import { randomBytes } from 'node:crypto';
import { FailureType, RelguardError } from '../../domain/errors';
import type { PackageRef } from './types';

/**
 * The layout both platforms keep in a machine folder (`<deploy_path>/<machine id>`), and the
 * pure decisions about it:
 *
 *   releases/<version>/         an unpacked package, with the marker file below
 *   current -> releases/<version>
 *   relguard-machine.json       the machine state (MachineState)
 *   logs/<version>.log          what start_cmd and stop_cmd printed
 *   incoming/                   downloads and uploads in progress
 */
export const machineLayout = {
  releases: 'releases',
  current: 'current',
  state: 'relguard-machine.json',
  logs: 'logs',
  incoming: 'incoming',
  /** Inside a release folder: which package it was unpacked from. */
  marker: '.relguard-package.json',
} as const;

// A version becomes a folder name, a log file name and a shell word.
const versionPattern = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const machineIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function assertSafeVersion(version: string): void {
  if (!versionPattern.test(version)) {
    throw new RelguardError(
      FailureType.BadPackage,
      `package version "${version}" cannot name a release folder: use letters, digits, ".", "_", "+" and "-", starting with a letter or digit`,
      { version },
    );
  }
}

export function assertSafeMachineId(machineId: string): void {
  if (!machineIdPattern.test(machineId)) {
    throw new RelguardError(
      FailureType.BadConfig,
      `machine id "${machineId}" cannot name a machine folder: use 1-63 lower-case letters, digits or dashes`,
      { machine_id: machineId },
    );
  }
}

/** A name for a temporary sibling of `name` that pruning recognises as leftover. */
export function temporaryName(name: string, kind: 'tmp' | 'old' = 'tmp'): string {
  return `${name}.${kind}-${randomBytes(4).toString('hex')}`;
}

export const isTemporaryName = (name: string): boolean => /\.(tmp|old)-[0-9a-f]{8}$/.test(name);

/** Which package a release folder holds; a release whose marker matches needs no download. */
export interface ReleaseMarker {
  version: string;
  md5: string;
  /** Absent from markers of packages recorded without one, and written before it existed. */
  sha256?: string;
  size: number;
  installed_at: number;
}

export function markerFor(pkg: PackageRef): ReleaseMarker {
  return {
    version: pkg.version,
    md5: pkg.md5.toLowerCase(),
    ...(pkg.sha256 === undefined ? {} : { sha256: pkg.sha256.toLowerCase() }),
    size: pkg.size,
    installed_at: Date.now(),
  };
}

export function parseMarker(text: string): ReleaseMarker | undefined {
  const value = parseObject(text);
  if (
    value === undefined ||
    typeof value.version !== 'string' ||
    typeof value.md5 !== 'string' ||
    typeof value.size !== 'number'
  ) {
    return undefined;
  }
  return {
    version: value.version,
    md5: value.md5,
    ...(typeof value.sha256 === 'string' ? { sha256: value.sha256 } : {}),
    size: value.size,
    installed_at: typeof value.installed_at === 'number' ? value.installed_at : 0,
  };
}

/**
 * Whether a release on disk is `pkg`: same MD5 and size, and the same SHA-256 when the package
 * has one (a release unpacked without it was checked by MD5 then; it is not downloaded again).
 */
export const markerMatches = (marker: ReleaseMarker | undefined, pkg: PackageRef): boolean =>
  marker !== undefined &&
  marker.md5 === pkg.md5.toLowerCase() &&
  marker.size === pkg.size &&
  (pkg.sha256 === undefined ||
    marker.sha256 === undefined ||
    marker.sha256 === pkg.sha256.toLowerCase());

/** What relguard remembers of a machine between calls. */
export interface MachineState {
  /** The version relguard last started, and its process group (the leader's pid). */
  version?: string;
  pid?: number;
  /**
   * The leader's start time in clock ticks since boot (/proc/<pid>/stat), so that a pid reused
   * by another process after a reboot is never signalled.
   */
  pid_start?: string;
  started_at?: number;
  /** Set by a stop, cleared by a start: a stopped machine is not stopped again (stop_cmd included). */
  stopped_at?: number;
  /** Versions in the order they were last started, most recent first: pruning keeps the head. */
  history: string[];
  /**
   * Written just before start_cmd is spawned and replaced once its process is recorded: a
   * worker killed in between leaves it, and the next call finds the process by that id.
   */
  starting?: { version: string; id: string };
}

const historyLength = 50;

export function parseState(text: string | undefined): MachineState {
  const value = text === undefined ? undefined : parseObject(text);
  if (value === undefined) return { history: [] };
  const state: MachineState = {
    history: Array.isArray(value.history)
      ? value.history.filter((item): item is string => typeof item === 'string')
      : [],
  };
  if (typeof value.version === 'string') state.version = value.version;
  if (typeof value.pid === 'number' && Number.isInteger(value.pid) && value.pid > 1) {
    state.pid = value.pid;
  }
  if (typeof value.pid_start === 'string') state.pid_start = value.pid_start;
  if (typeof value.started_at === 'number') state.started_at = value.started_at;
  if (typeof value.stopped_at === 'number') state.stopped_at = value.stopped_at;
  const starting = value.starting as Record<string, unknown> | undefined;
  if (typeof starting?.version === 'string' && typeof starting.id === 'string') {
    state.starting = { version: starting.version, id: starting.id };
  }
  return state;
}

/** The state while start_cmd is being spawned: the previous process is already stopped. */
export function startingState(previous: MachineState, version: string, id: string): MachineState {
  return { ...stoppedState(previous), starting: { version, id } };
}

export function startedState(
  previous: MachineState,
  version: string,
  pid: number,
  pidStart: string | undefined,
): MachineState {
  return {
    version,
    pid,
    ...(pidStart === undefined ? {} : { pid_start: pidStart }),
    started_at: Date.now(),
    history: [version, ...previous.history.filter((item) => item !== version)].slice(
      0,
      historyLength,
    ),
  };
}

export function stoppedState(previous: MachineState): MachineState {
  return {
    ...(previous.version ? { version: previous.version } : {}),
    stopped_at: Date.now(),
    history: previous.history,
  };
}

/** Whether relguard stopped the machine itself and nothing started it since. */
export const isStopped = (state: MachineState): boolean =>
  state.stopped_at !== undefined && state.pid === undefined;

/**
 * The release folders to delete: all but the `keep` most recently started (by `history`;
 * folders never started count as oldest), never one of `protect`.
 */
export function releasesToPrune(options: {
  installed: readonly string[];
  history: readonly string[];
  keep: number;
  protect: readonly string[];
}): string[] {
  const rank = (version: string) => {
    const index = options.history.indexOf(version);
    return index === -1 ? Number.MAX_SAFE_INTEGER : index;
  };
  const newestFirst = [...options.installed]
    .filter((name) => !isTemporaryName(name))
    .sort((a, b) => rank(a) - rank(b) || b.localeCompare(a));
  return newestFirst
    .slice(Math.max(options.keep, 0))
    .filter((version) => !options.protect.includes(version));
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
