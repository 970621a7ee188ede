import { rm } from 'node:fs/promises';
import type { Logger } from '../logger';
import { probeHealth, waitUntilHealthy } from './health-check';
import { downloadPackage } from './package-download';
import {
  assertSafeMachineId,
  assertSafeVersion,
  markerFor,
  markerMatches,
  type ReleaseMarker,
} from './releases';
import type { DeployResult, MachineTarget, PackageRef, ProgressListener } from './types';

/**
 * The steps of a deploy or rollback, the same on every platform; a MachineHost says how each
 * step is done on one kind of machine. Each method acts on the one machine the host was made for.
 */
export interface MachineHost {
  /** The version `current` points at, or undefined. */
  currentVersion(): Promise<string | undefined>;
  /** The marker of releases/<version>, when that release is on the machine. */
  installedMarker(version: string): Promise<ReleaseMarker | undefined>;
  /** A path on relguard's side to download the package to; the caller removes it. */
  stagingFile(version: string): Promise<string>;
  /**
   * Refuses an unsafe archive (BadPackage) before the machine changes, then makes it
   * releases/<marker.version> in one rename, replacing a release of the same version.
   */
  install(archive: string, marker: ReleaseMarker, signal?: AbortSignal): Promise<void>;
  /** Runs stop_cmd in the current release and stops the process group relguard started. */
  stopRunning(): Promise<void>;
  /** Points `current` at releases/<version> in one rename. */
  activate(version: string): Promise<void>;
  /** Starts start_cmd in releases/<version>, detached, and records its process. */
  start(version: string): Promise<void>;
  /** Whether the started process still runs; undefined when the host cannot tell. */
  processAlive(): Promise<boolean | undefined>;
  logTail(version: string): Promise<string>;
  /** Deletes all but the `keep` most recently started releases, never one of `protect`. */
  prune(keep: number, protect: string[]): Promise<string[]>;
}

export interface RolloutSettings {
  fetch: typeof fetch;
  logger: Logger;
  releasesKept: number;
  healthPollMs: number;
  healthProbeTimeoutMs: number;
  /** How long a package download may take, body included. */
  downloadTimeoutMs: number;
}

export interface RolloutCall {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/**
 * Puts `pkg` on the machine: nothing when it already runs that version healthily; else the
 * release kept on disk when its marker matches the package (no download), or a download that
 * is verified and unpacked before the running version is touched; then stop, switch, start,
 * health check, prune.
 */
export async function rollout(
  host: MachineHost,
  target: MachineTarget,
  pkg: PackageRef,
  kind: 'deploy' | 'rollback',
  settings: RolloutSettings,
  call: RolloutCall = {},
): Promise<DeployResult> {
  assertSafeMachineId(target.machine.id);
  assertSafeVersion(pkg.version);
  const { signal } = call;
  const version = pkg.version;
  const log = settings.logger.child({
    app: target.app.name,
    machine_id: target.machine.id,
    version,
    action: kind,
  });
  const progress = (step: string) => {
    log.debug({ step }, 'step');
    call.onProgress?.(step);
  };

  progress('checking the current version');
  const current = await host.currentVersion();
  if (current === version) {
    const health = await probeHealth(target, {
      fetch: settings.fetch,
      timeoutMs: settings.healthProbeTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    if (health.healthy) {
      log.info('already runs this version and is healthy; nothing to do');
      return { machine_id: target.machine.id, version, changed: false };
    }
    log.info({ health }, 'runs this version but is not healthy; restarting it');
  }

  signal?.throwIfAborted();
  if (markerMatches(await host.installedMarker(version), pkg)) {
    log.info('the release is on the machine already; no download');
  } else {
    const staging = await host.stagingFile(version);
    try {
      progress(`downloading package ${version}`);
      await downloadPackage(pkg, staging, {
        fetch: settings.fetch,
        timeoutMs: settings.downloadTimeoutMs,
        ...(signal ? { signal } : {}),
      });
      progress(`unpacking package ${version}`);
      await host.install(staging, markerFor(pkg), signal);
    } finally {
      await rm(staging, { force: true });
    }
  }

  // From here to the start the steps run through even if cancelled: a machine stopped between
  // them would not be runnable.
  signal?.throwIfAborted();
  progress(current === undefined ? 'nothing to stop' : `stopping ${current}`);
  await host.stopRunning();
  progress(`switching to ${version}`);
  await host.activate(version);
  progress(`starting ${version}`);
  await host.start(version);

  progress('waiting for the health check');
  await waitUntilHealthy(target, version, {
    fetch: settings.fetch,
    pollMs: settings.healthPollMs,
    processAlive: () => host.processAlive(),
    logTail: () => host.logTail(version),
    ...(signal ? { signal } : {}),
  });

  progress('pruning old releases');
  try {
    const pruned = await host.prune(settings.releasesKept, [version]);
    if (pruned.length > 0) log.info({ pruned }, 'pruned old releases');
  } catch (error) {
    // The new version runs; a release left on disk is no reason to fail the deploy.
    log.warn({ err: error }, 'could not prune old releases');
  }
  log.info({ previous: current }, kind === 'deploy' ? 'deployed' : 'rolled back');
  return { machine_id: target.machine.id, version, changed: true };
}
