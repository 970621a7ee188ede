import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import {
  mkdir,
  open,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger';
import { extractArchive, type ArchiveLimits } from './archive';
import {
  commandEnv,
  commandIdentity,
  giveToCommandUser,
  type CommandSettings,
} from './command-env';
import { probeHealth } from './health-check';
import { KeyedLock } from './keyed-lock';
import {
  findGroupByEnvironment,
  ownGroupAlive,
  processStartTicks,
  runToEnd,
  startDetached,
  stopGroup,
} from './process-group';
import {
  assertSafeMachineId,
  isStopped,
  isTemporaryName,
  machineLayout,
  parseMarker,
  parseState,
  releasesToPrune,
  startedState,
  startingState,
  stoppedState,
  temporaryName,
  type MachineState,
  type ReleaseMarker,
} from './releases';
import { DEFAULT_DOWNLOAD_TIMEOUT_MS } from './package-download';
import { rollout, type MachineHost, type RolloutSettings } from './rollout';
import { releaseEnv } from './runtime-env';
import type {
  DeployPlatform,
  DeployResult,
  HealthResult,
  MachineTarget,
  PackageRef,
  ProgressListener,
} from './types';

export interface LocalPlatformOptions {
  /** Releases kept on each machine for instant rollback (DEPLOY_RELEASES_KEPT). */
  releasesKept: number;
  logger: Logger;
  fetch?: typeof fetch;
  /**
   * The worker's environment, where the allow-list of command-env.ts picks PATH, LANG, TZ and
   * RELGUARD_COMMAND_ENV's names from; process.env by default. Nothing else of it is passed.
   */
  baseEnv?: NodeJS.ProcessEnv;
  /** Who start_cmd and stop_cmd run as (RELGUARD_RUN_AS) and what else they are given. */
  commands?: CommandSettings;
  /** Between SIGTERM and SIGKILL when stopping a machine's process group. */
  killGraceMs?: number;
  /** How long stop_cmd may run before it is killed. */
  stopCommandTimeoutMs?: number;
  healthPollMs?: number;
  healthProbeTimeoutMs?: number;
  /** How long a package download may take, body included (PACKAGE_DOWNLOAD_TIMEOUT_SECONDS). */
  packageDownloadTimeoutMs?: number;
  /** How much a package may unpack to (ARCHIVE_MAX_*); defaultArchiveLimits when unset. */
  archiveLimits?: ArchiveLimits;
}

const logTailBytes = 4000;

/**
 * With RELGUARD_RUN_AS, the folder in the machine folder where release markers are kept, one
 * `<version>.json` a release: the release folder is the command user's, who could plant a
 * symbolic link there for the worker to write through, or rewrite the marker to skip a
 * download. This folder is the worker's, like the state file beside it. Without
 * RELGUARD_RUN_AS the marker stays in the release folder (machineLayout.marker), as before.
 */
export const markersFolder = 'release-markers';

/** Set in start_cmd's environment to an id of that start: see MachineState.starting. */
export const startIdVariable = 'RELGUARD_START_ID';

interface LocalMachineOptions {
  logger: Logger;
  baseEnv: NodeJS.ProcessEnv;
  commands: CommandSettings;
  killGraceMs: number;
  stopCommandTimeoutMs: number;
  archiveLimits?: ArchiveLimits | undefined;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function tail(file: string, bytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** A machine that is a process on this host, in `<deploy_path>/<machine id>`. */
class LocalMachine implements MachineHost {
  readonly dir: string;

  constructor(
    private readonly target: MachineTarget,
    private readonly options: LocalMachineOptions,
  ) {
    assertSafeMachineId(target.machine.id);
    this.dir = path.join(target.app.deploy_path, target.machine.id);
  }

  private at(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  private releaseDir(version: string): string {
    return this.at(machineLayout.releases, version);
  }

  private logFile(version: string): string {
    return this.at(machineLayout.logs, `${version}.log`);
  }

  /** The whole environment of start_cmd and stop_cmd: the allow-list and the release's values. */
  private env(version: string, extra: Record<string, string> = {}): Record<string, string> {
    return commandEnv(
      this.options.commands,
      { ...releaseEnv(this.target, version, this.dir), ...extra },
      this.options.baseEnv,
    );
  }

  async readState(): Promise<MachineState> {
    return parseState(await readText(this.at(machineLayout.state)));
  }

  private async writeState(state: MachineState): Promise<void> {
    const file = this.at(machineLayout.state);
    const staging = temporaryName(file);
    await writeFile(staging, JSON.stringify(state, null, 2) + '\n');
    await rename(staging, file);
  }

  async currentVersion(): Promise<string | undefined> {
    try {
      return path.basename(await readlink(this.at(machineLayout.current)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return undefined;
      throw error;
    }
  }

  /** Where the marker of a release is kept: see markersFolder. */
  private markerFile(version: string): string {
    return this.options.commands.user === undefined
      ? path.join(this.releaseDir(version), machineLayout.marker)
      : this.at(markersFolder, `${version}.json`);
  }

  async installedMarker(version: string): Promise<ReleaseMarker | undefined> {
    if (this.options.commands.user === undefined) {
      const text = await readText(this.markerFile(version));
      return text === undefined ? undefined : parseMarker(text);
    }
    // Trusted only as the worker wrote it: its own file, not a link, writable by none else.
    let handle;
    try {
      handle = await open(this.markerFile(version), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code !== 'ELOOP') throw error;
      this.untrustedMarker(version, 'it is a symbolic link');
      return undefined;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.uid !== process.getuid?.() || (info.mode & 0o022) !== 0) {
        this.untrustedMarker(
          version,
          `it is owned by uid ${info.uid} with mode ${(info.mode & 0o777).toString(8)}`,
        );
        return undefined;
      }
      return parseMarker(await handle.readFile('utf8'));
    } finally {
      await handle.close();
    }
  }

  private untrustedMarker(version: string, why: string): void {
    this.options.logger.warn(
      { machine_id: this.target.machine.id, version, marker: this.markerFile(version) },
      `the release marker is not the worker's own (${why}): not trusted, the package is downloaded again`,
    );
  }

  /**
   * Writes the marker of a release with RELGUARD_RUN_AS, after the release is in place: in the
   * worker's folder, through a new file that cannot be a link planted in advance, mode 0644.
   */
  private async writeOwnMarker(marker: ReleaseMarker): Promise<void> {
    const file = this.markerFile(marker.version);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    const staging = temporaryName(file);
    const handle = await open(
      staging,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      await handle.writeFile(JSON.stringify(marker) + '\n');
    } finally {
      await handle.close();
    }
    await rename(staging, file);
  }

  async stagingFile(version: string): Promise<string> {
    const incoming = this.at(machineLayout.incoming);
    await mkdir(incoming, { recursive: true });
    return path.join(incoming, temporaryName(`${version}.tar.gz`));
  }

  async install(archive: string, marker: ReleaseMarker, signal?: AbortSignal): Promise<void> {
    const finalDir = this.releaseDir(marker.version);
    const stagingDir = temporaryName(finalDir);
    await mkdir(this.at(machineLayout.releases), { recursive: true });
    try {
      await extractArchive(archive, stagingDir, {
        ...(signal ? { signal } : {}),
        ...(this.options.archiveLimits ? { limits: this.options.archiveLimits } : {}),
      });
      // The release belongs to the user its commands run as; the marker stays relguard's.
      const ownMarker = this.options.commands.user !== undefined;
      if (!ownMarker) {
        await writeFile(path.join(stagingDir, machineLayout.marker), JSON.stringify(marker) + '\n');
      }
      await giveToCommandUser(stagingDir, this.options.commands);
      // The marker of the release replaced goes first: a crash below leaves no marker (the
      // next deploy downloads again), never one that describes another release.
      if (ownMarker) await rm(this.markerFile(marker.version), { force: true });
      // A folder cannot be renamed over a folder: a stale release of the same version (another
      // build) steps aside first.
      const replaced = temporaryName(finalDir, 'old');
      const hadOld = await rename(finalDir, replaced).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false;
          throw error;
        },
      );
      await rename(stagingDir, finalDir);
      if (ownMarker) await this.writeOwnMarker(marker);
      if (hadOld) await rm(replaced, { recursive: true, force: true });
    } catch (error) {
      await rm(stagingDir, { recursive: true, force: true });
      throw error;
    }
  }

  async stopRunning(): Promise<void> {
    const state = await this.readState();
    if (isStopped(state)) return;
    const current = await this.currentVersion();
    const log = this.options.logger;
    if (this.target.app.stop_cmd && current !== undefined) {
      await mkdir(this.at(machineLayout.logs), { recursive: true });
      // The process group is stopped below anyway; stop_cmd is the polite way, not the only one.
      try {
        const result = await runToEnd(this.target.app.stop_cmd, {
          cwd: this.releaseDir(current),
          env: this.env(current),
          ...commandIdentity(this.options.commands),
          logFile: this.logFile(current),
          timeoutMs: this.options.stopCommandTimeoutMs,
        });
        if (result.code !== 0) {
          log.warn(
            { machine_id: this.target.machine.id, version: current, ...result },
            'stop_cmd failed',
          );
        }
      } catch (error) {
        log.warn(
          { machine_id: this.target.machine.id, version: current, err: error },
          'stop_cmd could not run',
        );
      }
    }
    if (state.pid !== undefined) {
      const outcome = await stopGroup(state.pid, state.pid_start, {
        graceMs: this.options.killGraceMs,
      });
      log.info(
        { machine_id: this.target.machine.id, pid: state.pid, outcome },
        'stopped process group',
      );
      await this.writeState(stoppedState(state));
    }
  }

  async activate(version: string): Promise<void> {
    const link = this.at(machineLayout.current);
    const staging = temporaryName(link);
    // Relative, so that the machine folder can move.
    await symlink(path.join(machineLayout.releases, version), staging);
    await rename(staging, link);
  }

  async start(version: string): Promise<void> {
    await mkdir(this.at(machineLayout.logs), { recursive: true });
    const startId = randomUUID();
    const before = await this.readState();
    await this.writeState(startingState(before, version, startId));
    const { pid, pidStart } = await startDetached(this.target.app.start_cmd, {
      cwd: this.releaseDir(version),
      env: this.env(version, { [startIdVariable]: startId }),
      ...commandIdentity(this.options.commands),
      logFile: this.logFile(version),
    });
    await this.writeState(startedState(before, version, pid, pidStart));
  }

  /**
   * Records the process of a start that was interrupted (the worker killed between the spawn
   * and its record), found by the start's id; without it the next deploy could not stop
   * that process, and it would keep the port and answer the health check for its successor.
   */
  async settle(): Promise<void> {
    const state = await this.readState();
    if (state.starting === undefined) return;
    const { version, id } = state.starting;
    const pid = await findGroupByEnvironment(`${startIdVariable}=${id}`);
    const log = { machine_id: this.target.machine.id, version };
    if (pid === undefined) {
      await this.writeState(stoppedState(state));
      this.options.logger.warn(log, 'an interrupted start left no process');
      return;
    }
    await this.writeState(startedState(state, version, pid, await processStartTicks(pid)));
    this.options.logger.warn({ ...log, pid }, 'recorded the process of an interrupted start');
  }

  async processAlive(): Promise<boolean | undefined> {
    // A start_cmd may hand over to a daemon and exit; with a stop_cmd that is a valid setup.
    if (this.target.app.stop_cmd) return undefined;
    const state = await this.readState();
    return state.pid !== undefined && (await ownGroupAlive(state.pid, state.pid_start));
  }

  /**
   * Whether the process relguard last started here lives; undefined when relguard started
   * none here (a machine it never deployed, or one it stopped) or cannot tell (see processAlive).
   */
  async startedProcessAlive(): Promise<boolean | undefined> {
    if ((await this.readState()).pid === undefined) return undefined;
    return await this.processAlive();
  }

  logTail(version: string): Promise<string> {
    return tail(this.logFile(version), logTailBytes);
  }

  async prune(keep: number, protect: string[]): Promise<string[]> {
    const releasesDir = this.at(machineLayout.releases);
    const names = await readdir(releasesDir);
    const current = await this.currentVersion();
    // Calls for one machine are serialised, so a temporary folder now is a crash's leftover.
    for (const name of names.filter(isTemporaryName)) {
      await rm(path.join(releasesDir, name), { recursive: true, force: true });
    }
    const doomed = releasesToPrune({
      installed: names.filter((name) => !isTemporaryName(name)),
      history: (await this.readState()).history,
      keep,
      protect: current === undefined ? protect : [...protect, current],
    });
    for (const version of doomed) {
      await rm(path.join(releasesDir, version), { recursive: true, force: true });
      await rm(this.logFile(version), { force: true });
      await rm(this.at(markersFolder, `${version}.json`), { force: true });
    }
    return doomed;
  }
}

/**
 * The local platform: every machine is a process on this host, in its own folder under the
 * application's deploy_path. Calls for one machine run one at a time.
 */
export class LocalPlatform implements DeployPlatform {
  private readonly lock = new KeyedLock();
  private readonly settings: RolloutSettings;
  private readonly machineOptions: LocalMachineOptions;

  constructor(options: LocalPlatformOptions) {
    this.settings = {
      fetch: options.fetch ?? fetch,
      logger: options.logger,
      releasesKept: options.releasesKept,
      healthPollMs: options.healthPollMs ?? 200,
      healthProbeTimeoutMs: options.healthProbeTimeoutMs ?? 3000,
      downloadTimeoutMs: options.packageDownloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS,
    };
    this.machineOptions = {
      logger: options.logger,
      baseEnv: options.baseEnv ?? process.env,
      commands: options.commands ?? {},
      killGraceMs: options.killGraceMs ?? 10_000,
      stopCommandTimeoutMs: options.stopCommandTimeoutMs ?? 30_000,
      archiveLimits: options.archiveLimits,
    };
  }

  private machine(target: MachineTarget): LocalMachine {
    return new LocalMachine(target, this.machineOptions);
  }

  async deploy(
    target: MachineTarget,
    pkg: PackageRef,
    options: { signal?: AbortSignal; onProgress?: ProgressListener } = {},
  ): Promise<DeployResult> {
    const machine = this.machine(target);
    return await this.lock.run(machine.dir, async () => {
      await machine.settle();
      return await rollout(machine, target, pkg, 'deploy', this.settings, options);
    });
  }

  async rollback(
    target: MachineTarget,
    pkg: PackageRef,
    options: { signal?: AbortSignal; onProgress?: ProgressListener } = {},
  ): Promise<DeployResult> {
    const machine = this.machine(target);
    return await this.lock.run(machine.dir, async () => {
      await machine.settle();
      return await rollout(machine, target, pkg, 'rollback', this.settings, options);
    });
  }

  /**
   * The health check over HTTP, and the process relguard started: a process that exited is
   * unhealthy even if something else answers on its port.
   */
  async health(target: MachineTarget): Promise<HealthResult> {
    const [probe, alive] = await Promise.all([
      probeHealth(target, {
        fetch: this.settings.fetch,
        timeoutMs: this.settings.healthProbeTimeoutMs,
      }),
      // Its state file unreadable is not a verdict on the process: the probe answers alone.
      this.machine(target)
        .startedProcessAlive()
        .catch(() => undefined),
    ]);
    if (alive !== false) return probe;
    const answer = probe.healthy
      ? 'yet something answers its health check'
      : `and ${probe.error ?? 'its health check fails'}`;
    return {
      healthy: false,
      ...(probe.status === undefined ? {} : { status: probe.status }),
      error: `the process relguard started has exited, ${answer}`,
    };
  }

  async currentVersion(target: MachineTarget): Promise<string | undefined> {
    return await this.machine(target).currentVersion();
  }

  async stop(target: MachineTarget): Promise<void> {
    const machine = this.machine(target);
    await this.lock.run(machine.dir, async () => {
      await machine.settle();
      await machine.stopRunning();
    });
  }

  /** The process relguard started on the machine, if it still runs: for operators and tests. */
  async runningPid(target: MachineTarget): Promise<number | undefined> {
    const state = await this.machine(target).readState();
    if (state.pid === undefined) return undefined;
    return (await ownGroupAlive(state.pid, state.pid_start)) ? state.pid : undefined;
  }
}
