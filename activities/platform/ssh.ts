import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FailureType, RelguardError } from '../../domain/errors';
import type { Logger } from '../logger';
import { inspectArchive, type ArchiveLimits } from './archive';
import { probeHealth } from './health-check';
import { KeyedLock } from './keyed-lock';
import {
  assertSafeMachineId,
  isStopped,
  isTemporaryName,
  machineLayout,
  parseMarker,
  parseState,
  releasesToPrune,
  startedState,
  stoppedState,
  temporaryName,
  type MachineState,
  type ReleaseMarker,
} from './releases';
import { DEFAULT_DOWNLOAD_TIMEOUT_MS } from './package-download';
import { rollout, type MachineHost, type RolloutSettings } from './rollout';
import { releaseEnv } from './runtime-env';
import { shellQuote as q } from './shell-quote';
import { HostKeyTrust, type HostKeyTrustOptions } from './ssh-host-keys';
import { SshSession } from './ssh-session';
import type {
  DeployPlatform,
  DeployResult,
  HealthResult,
  MachineTarget,
  PackageRef,
  ProgressListener,
} from './types';

export interface SshPlatformOptions {
  /** Releases kept on each machine for instant rollback (DEPLOY_RELEASES_KEPT). */
  releasesKept: number;
  logger: Logger;
  fetch?: typeof fetch;
  /**
   * Which host keys are trusted (SSH_HOST_KEY_POLICY, SSH_KNOWN_HOSTS_FILE, the pin store);
   * by default strict, with no known_hosts file: only machines with ssh.host_key_sha256 or
   * their own ssh.known_hosts_path can be reached.
   */
  hostKeys?: Omit<HostKeyTrustOptions, 'logger'>;
  /** Where packages are downloaded on relguard's side before the upload. */
  stagingDir?: string;
  /** SSH_CONNECT_TIMEOUT_SECONDS, in ms. */
  connectTimeoutMs?: number;
  /** SSH_COMMAND_TIMEOUT_SECONDS, in ms. */
  commandTimeoutMs?: number;
  killGraceMs?: number;
  stopCommandTimeoutMs?: number;
  healthPollMs?: number;
  healthProbeTimeoutMs?: number;
  /** How long a package download may take, body included (PACKAGE_DOWNLOAD_TIMEOUT_SECONDS). */
  packageDownloadTimeoutMs?: number;
  /** How much a package may unpack to (ARCHIVE_MAX_*); defaultArchiveLimits when unset. */
  archiveLimits?: ArchiveLimits;
}

interface SshMachineOptions {
  logger: Logger;
  stagingDir: string;
  killGraceMs: number;
  stopCommandTimeoutMs: number;
  archiveLimits?: ArchiveLimits | undefined;
}

const logTailBytes = 4000;
const sshPidFile = 'relguard-machine.pid';

/**
 * Shell functions for the remote scripts. `alive` asks /proc whether a process of group $g
 * runs, not counting zombies (a container's PID 1 may never reap them); without /proc it
 * falls back to kill -0. `owned` is false when the group leader's pid now belongs to a process
 * that started at another time than the one relguard recorded ($want).
 */
const processFunctions = `
alive() {
  if [ ! -r /proc/self/stat ]; then kill -s 0 -- "-$g" 2>/dev/null; return; fi
  for s in /proc/[0-9]*/stat; do
    { read -r line < "$s"; } 2>/dev/null || continue
    set -- \${line##*) }
    if [ "$3" = "$g" ] && [ "$1" != Z ]; then return 0; fi
  done
  return 1
}
owned() {
  [ -n "$want" ] || return 0
  { read -r line < "/proc/$g/stat"; } 2>/dev/null || return 0
  set -- \${line##*) }
  [ "\${20}" = "$want" ]
}
`;

/** What one round trip learns of a machine at the start of a call. */
interface Snapshot {
  current: string | undefined;
  state: MachineState;
}

// Separates the parts of a command's output; no path or JSON relguard writes contains it.
const sectionBreak = '@@relguard@@';

/**
 * A machine reached over ssh; its folder is `<deploy_path>/<machine id>` on that machine.
 * Each remote command costs a session on the machine (and the user's shell start-up, which can
 * take hundreds of milliseconds), so the steps batch their work into as few commands as they
 * can, and the state read at the start is kept: calls for one machine are serialised, so
 * nothing else changes it meanwhile. The process group is kept beside the state, in
 * `relguard-machine.pid` ("<pid> <start ticks>"), because the shell that starts it writes it.
 */
class SshMachine implements MachineHost {
  readonly dir: string;
  private snapshot: Snapshot | undefined;
  private lastAliveCheck = 0;

  constructor(
    private readonly session: SshSession,
    private readonly target: MachineTarget,
    private readonly options: SshMachineOptions,
  ) {
    assertSafeMachineId(target.machine.id);
    this.dir = path.posix.join(target.app.deploy_path, target.machine.id);
  }

  private at(...parts: string[]): string {
    return path.posix.join(this.dir, ...parts);
  }

  private releaseDir(version: string): string {
    return this.at(machineLayout.releases, version);
  }

  private logFile(version: string): string {
    return this.at(machineLayout.logs, `${version}.log`);
  }

  private get pidFile(): string {
    return this.at(sshPidFile);
  }

  /** `NAME=value …` words that put the release's variables in the next command's environment. */
  private envWords(version: string): string {
    return Object.entries(releaseEnv(this.target, version, this.dir))
      .map(([name, value]) => `${name}=${q(value)}`)
      .join(' ');
  }

  /** A command that replaces the state file in one rename. */
  private writeStateCommand(state: MachineState): string {
    const file = this.at(machineLayout.state);
    const staging = temporaryName(file);
    const { pid: _pid, pid_start: _pidStart, ...stored } = state;
    return `printf '%s\\n' ${q(JSON.stringify(stored))} > ${q(staging)} && mv -f ${q(staging)} ${q(file)}`;
  }

  private async load(): Promise<Snapshot> {
    if (this.snapshot !== undefined) return this.snapshot;
    const output = await this.session.run(
      'reading the machine state',
      [
        `readlink ${q(this.at(machineLayout.current))} || true`,
        `echo ${sectionBreak}`,
        `cat ${q(this.at(machineLayout.state))} 2>/dev/null || true`,
        `echo ${sectionBreak}`,
        `cat ${q(this.pidFile)} 2>/dev/null || true`,
      ].join('\n'),
    );
    const [link = '', stateText = '', pidText = ''] = output.split(`${sectionBreak}\n`);
    const state = parseState(stateText.trim() === '' ? undefined : stateText);
    const [pid, pidStart] = pidText.trim().split(' ');
    if (pid !== undefined && /^[0-9]+$/.test(pid) && Number(pid) > 1) {
      state.pid = Number(pid);
      if (pidStart !== undefined && pidStart !== '') state.pid_start = pidStart;
    }
    const linkTarget = link.trim();
    this.snapshot = {
      current: linkTarget === '' ? undefined : path.posix.basename(linkTarget),
      state,
    };
    return this.snapshot;
  }

  async readState(): Promise<MachineState> {
    return (await this.load()).state;
  }

  async currentVersion(): Promise<string | undefined> {
    return (await this.load()).current;
  }

  async installedMarker(version: string): Promise<ReleaseMarker | undefined> {
    const file = path.posix.join(this.releaseDir(version), machineLayout.marker);
    const result = await this.session.exec('reading the release marker', `cat ${q(file)}`);
    return result.code === 0 ? parseMarker(result.stdout) : undefined;
  }

  async stagingFile(version: string): Promise<string> {
    await mkdir(this.options.stagingDir, { recursive: true });
    return path.join(
      this.options.stagingDir,
      temporaryName(`${this.target.machine.id}-${version}.tar.gz`),
    );
  }

  async install(archive: string, marker: ReleaseMarker, signal?: AbortSignal): Promise<void> {
    // Judged here, before a byte reaches the machine; the remote MD5 and SHA-256 checks below
    // prove that the machine unpacks these very bytes.
    await inspectArchive(archive, {
      ...(signal ? { signal } : {}),
      ...(this.options.archiveLimits ? { limits: this.options.archiveLimits } : {}),
    });
    const incoming = this.at(machineLayout.incoming);
    await this.session.run(
      'preparing the machine folder',
      `mkdir -p ${q(incoming)} ${q(this.at(machineLayout.releases))} ${q(this.at(machineLayout.logs))}`,
      signal,
    );
    const remoteArchive = path.posix.join(incoming, temporaryName(`${marker.version}.tar.gz`));
    const finalDir = this.releaseDir(marker.version);
    const stagingDir = temporaryName(finalDir);
    const replaced = temporaryName(finalDir, 'old');
    try {
      await this.session.upload(archive, remoteArchive, signal);
      const result = await this.session.exec(
        'unpacking the package',
        [
          'set -e',
          `trap 'rm -f ${q(remoteArchive)}' EXIT`,
          `md5=$(md5sum ${q(remoteArchive)} | cut -d' ' -f1)`,
          `if [ "$md5" != ${q(marker.md5)} ]; then echo "$md5"; exit 3; fi`,
          ...(marker.sha256 === undefined
            ? []
            : [
                `sha=$(sha256sum ${q(remoteArchive)} | cut -d' ' -f1)`,
                `if [ "$sha" != ${q(marker.sha256)} ]; then echo "$sha"; exit 4; fi`,
              ]),
          `mkdir ${q(stagingDir)}`,
          `if ! tar -xzf ${q(remoteArchive)} -C ${q(stagingDir)} --no-same-owner; then rm -rf ${q(stagingDir)}; exit 1; fi`,
          // GNU tar run by root keeps set-id bits; a package must not grant privileges.
          `chmod -R u-s,g-s ${q(stagingDir)}`,
          `printf '%s\\n' ${q(JSON.stringify(marker))} > ${q(path.posix.join(stagingDir, machineLayout.marker))}`,
          `if [ -e ${q(finalDir)} ]; then mv ${q(finalDir)} ${q(replaced)}; fi`,
          `mv ${q(stagingDir)} ${q(finalDir)}`,
          `rm -rf ${q(replaced)}`,
        ].join('\n'),
        signal,
      );
      if (result.code === 4) {
        throw new RelguardError(
          FailureType.Unavailable,
          `the package arrived on ${this.session.label} with SHA-256 ${result.stdout.trim()}, not ${marker.sha256 ?? ''}; the upload was damaged`,
          {
            machine_id: this.target.machine.id,
            sha256: result.stdout.trim(),
            expected_sha256: marker.sha256,
          },
        );
      }
      if (result.code === 3) {
        throw new RelguardError(
          FailureType.Unavailable,
          `the package arrived on ${this.session.label} with MD5 ${result.stdout.trim()}, not ${marker.md5}; the upload was damaged`,
          {
            machine_id: this.target.machine.id,
            md5: result.stdout.trim(),
            expected_md5: marker.md5,
          },
        );
      }
      if (result.code !== 0) {
        throw new RelguardError(
          FailureType.Unavailable,
          `${this.session.label}: unpacking the package failed (exit ${result.code ?? 'unknown'}): ${result.stderr.trim()}`,
          { machine_id: this.target.machine.id, stderr: result.stderr },
        );
      }
    } catch (error) {
      // The script removes the upload itself; this covers an upload that failed half-way.
      await this.session
        .exec('removing the upload', `rm -f ${q(remoteArchive)}`)
        .catch(() => undefined);
      throw error;
    }
  }

  async stopRunning(): Promise<void> {
    const snapshot = await this.load();
    const { state, current } = snapshot;
    if (isStopped(state)) return;
    if (current === undefined && state.pid === undefined) return;
    const stopCmd = this.target.app.stop_cmd;
    const seconds = Math.max(Math.ceil(this.options.stopCommandTimeoutMs / 1000), 1);
    const checks = Math.max(Math.ceil(this.options.killGraceMs / 100), 1);
    const stopped = stoppedState(state);
    const lines: string[] = [];
    if (stopCmd && current !== undefined) {
      lines.push(
        `mkdir -p ${q(this.at(machineLayout.logs))}`,
        `if (cd ${q(this.releaseDir(current))} && ${this.envWords(current)} timeout -s KILL ${seconds} sh -c ${q(stopCmd)}) >> ${q(this.logFile(current))} 2>&1; then echo stop_cmd=0; else echo "stop_cmd=$?"; fi`,
      );
    }
    if (state.pid !== undefined) {
      lines.push(
        `g=${state.pid}`,
        `want=${q(state.pid_start ?? '')}`,
        processFunctions,
        'stop_group() {',
        '  owned || { echo outcome=foreign; return; }',
        '  alive || { echo outcome=not-running; return; }',
        '  kill -s TERM -- "-$g" 2>/dev/null || true',
        '  i=0',
        '  while alive; do',
        '    i=$((i + 1))',
        `    if [ "$i" -gt ${checks} ]; then kill -s KILL -- "-$g" 2>/dev/null || true; sleep 0.2; echo outcome=killed; return; fi`,
        '    sleep 0.1',
        '  done',
        '  echo outcome=terminated',
        '}',
        'stop_group',
      );
    }
    lines.push(`rm -f ${q(this.pidFile)}`, this.writeStateCommand(stopped));
    const output = await this.session.run('stopping the running version', lines.join('\n'));
    const log = this.options.logger.child({ machine_id: this.target.machine.id });
    if (/^stop_cmd=[1-9]/m.test(output)) {
      // The process group is stopped anyway; stop_cmd is the polite way, not the only one.
      log.warn({ version: current, output: output.trim() }, 'stop_cmd failed');
    }
    log.info({ pid: state.pid, output: output.trim() }, 'stopped');
    snapshot.state = stopped;
  }

  async activate(version: string): Promise<void> {
    const link = this.at(machineLayout.current);
    const staging = temporaryName(link);
    await this.session.run(
      'switching the current release',
      `ln -sfn ${q(path.posix.join(machineLayout.releases, version))} ${q(staging)} && mv -T ${q(staging)} ${q(link)}`,
    );
    (await this.load()).current = version;
  }

  async start(version: string): Promise<void> {
    const snapshot = await this.load();
    const pidFile = this.pidFile;
    const pidStaging = temporaryName(pidFile);
    // setsid makes the shell lead a new process group whose id is $!, and nohup with the
    // redirections detaches it from the ssh channel, which then closes at once.
    const output = await this.session.run(
      'starting the new version',
      [
        'set -e',
        `mkdir -p ${q(this.at(machineLayout.logs))}`,
        this.writeStateCommand(startedState(snapshot.state, version, 0, undefined)),
        `cd ${q(this.releaseDir(version))}`,
        `${this.envWords(version)} nohup setsid sh -c ${q(this.target.app.start_cmd)} >> ${q(this.logFile(version))} 2>&1 < /dev/null &`,
        'g=$!',
        'line=',
        '{ read -r line < "/proc/$g/stat"; } 2>/dev/null || true',
        'ticks=',
        'if [ -n "$line" ]; then set -- ${line##*) }; ticks=${20}; fi',
        `echo "$g $ticks" > ${q(pidStaging)} && mv -f ${q(pidStaging)} ${q(pidFile)}`,
        'echo "$g $ticks"',
      ].join('\n'),
    );
    const [pidText, pidStart] = output.trim().split(' ');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 1) {
      throw new RelguardError(
        FailureType.Unavailable,
        `${this.session.label}: start_cmd did not report a process id (got "${output.trim()}")`,
      );
    }
    snapshot.state = startedState(snapshot.state, version, pid, pidStart || undefined);
  }

  async processAlive(): Promise<boolean | undefined> {
    // A start_cmd may hand over to a daemon and exit; with a stop_cmd that is a valid setup.
    if (this.target.app.stop_cmd) return undefined;
    // Asked between health polls: once a second is soon enough to fail fast, and cheaper.
    if (Date.now() - this.lastAliveCheck < 1000) return undefined;
    this.lastAliveCheck = Date.now();
    return await this.groupRunning();
  }

  /** Whether the process group relguard recorded still runs. */
  async groupRunning(): Promise<boolean> {
    const state = await this.readState();
    if (state.pid === undefined) return false;
    const result = await this.session.exec(
      'checking the running process',
      [
        `g=${state.pid}`,
        `want=${q(state.pid_start ?? '')}`,
        processFunctions,
        'owned && alive',
      ].join('\n'),
    );
    return result.code === 0;
  }

  async logTail(version: string): Promise<string> {
    const result = await this.session.exec(
      'reading the log',
      `tail -c ${logTailBytes} ${q(this.logFile(version))}`,
    );
    return result.code === 0 ? result.stdout : '';
  }

  async prune(keep: number, protect: string[]): Promise<string[]> {
    const releasesDir = this.at(machineLayout.releases);
    const names = (await this.session.run('listing releases', `ls -1A ${q(releasesDir)}`))
      .split('\n')
      .filter((name) => name !== '');
    const { current, state } = await this.load();
    const doomed = releasesToPrune({
      installed: names.filter((name) => !isTemporaryName(name)),
      history: state.history,
      keep,
      protect: current === undefined ? protect : [...protect, current],
    });
    // Calls for one machine are serialised, so a temporary folder now is a crash's leftover.
    const removals = [
      ...[...names.filter(isTemporaryName), ...doomed].map((name) =>
        path.posix.join(releasesDir, name),
      ),
      ...doomed.map((version) => this.logFile(version)),
    ];
    if (removals.length > 0) {
      await this.session.run('pruning releases', `rm -rf ${removals.map(q).join(' ')}`);
    }
    return doomed;
  }
}

/**
 * The ssh platform: real machines reached with ssh2, one connection per call. Packages are
 * downloaded and judged on relguard's side, uploaded with SFTP, checked again by MD5 there.
 */
export class SshPlatform implements DeployPlatform {
  private readonly lock = new KeyedLock();
  private readonly settings: RolloutSettings;
  private readonly machineOptions: SshMachineOptions;
  private readonly hostKeys: HostKeyTrust;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;

  constructor(options: SshPlatformOptions) {
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
      stagingDir: options.stagingDir ?? path.join(os.tmpdir(), 'relguard-ssh-staging'),
      killGraceMs: options.killGraceMs ?? 10_000,
      stopCommandTimeoutMs: options.stopCommandTimeoutMs ?? 30_000,
      archiveLimits: options.archiveLimits,
    };
    this.hostKeys = new HostKeyTrust({
      ...(options.hostKeys ?? { policy: 'strict' }),
      logger: options.logger,
    });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    // A stop waits for stop_cmd, then for the processes to go, inside one remote command.
    this.commandTimeoutMs = Math.max(
      options.commandTimeoutMs ?? 300_000,
      this.machineOptions.stopCommandTimeoutMs + this.machineOptions.killGraceMs + 10_000,
    );
  }

  /** Runs `body` on the machine over one ssh connection, one call per machine at a time. */
  private async withMachine<T>(
    target: MachineTarget,
    signal: AbortSignal | undefined,
    body: (machine: SshMachine) => Promise<T>,
  ): Promise<T> {
    const { machine, app } = target;
    const ssh = machine.ssh;
    if (ssh === undefined) {
      throw new RelguardError(
        FailureType.BadConfig,
        `machine ${machine.id} of ${app.name} has no ssh settings (user, port, key_path)`,
        { machine_id: machine.id },
      );
    }
    const key = `${ssh.user}@${machine.host}:${ssh.port}:${path.posix.join(app.deploy_path, machine.id)}`;
    return this.lock.run(key, async () => {
      let privateKey: Buffer;
      try {
        privateKey = await readFile(ssh.key_path);
      } catch (error) {
        throw new RelguardError(
          FailureType.BadConfig,
          `cannot read the ssh key ${ssh.key_path} for machine ${machine.id}: ${(error as Error).message}`,
          { machine_id: machine.id, key_path: ssh.key_path },
        );
      }
      const hostKeys = await this.hostKeys.prepare({
        machineId: machine.id,
        host: machine.host,
        port: ssh.port,
        knownHostsPath: ssh.known_hosts_path,
        hostKeySha256: ssh.host_key_sha256,
      });
      const session = await SshSession.open(
        {
          machineId: machine.id,
          host: machine.host,
          port: ssh.port,
          username: ssh.user,
          privateKey,
        },
        {
          hostKeys,
          connectTimeoutMs: this.connectTimeoutMs,
          commandTimeoutMs: this.commandTimeoutMs,
          ...(signal ? { signal } : {}),
        },
      );
      try {
        return await body(new SshMachine(session, target, this.machineOptions));
      } finally {
        session.close();
      }
    });
  }

  deploy(
    target: MachineTarget,
    pkg: PackageRef,
    options: { signal?: AbortSignal; onProgress?: ProgressListener } = {},
  ): Promise<DeployResult> {
    return this.withMachine(target, options.signal, (machine) =>
      rollout(machine, target, pkg, 'deploy', this.settings, options),
    );
  }

  rollback(
    target: MachineTarget,
    pkg: PackageRef,
    options: { signal?: AbortSignal; onProgress?: ProgressListener } = {},
  ): Promise<DeployResult> {
    return this.withMachine(target, options.signal, (machine) =>
      rollout(machine, target, pkg, 'rollback', this.settings, options),
    );
  }

  health(target: MachineTarget): Promise<HealthResult> {
    return probeHealth(target, {
      fetch: this.settings.fetch,
      timeoutMs: this.settings.healthProbeTimeoutMs,
    });
  }

  currentVersion(target: MachineTarget): Promise<string | undefined> {
    return this.withMachine(target, undefined, (machine) => machine.currentVersion());
  }

  stop(target: MachineTarget): Promise<void> {
    return this.withMachine(target, undefined, (machine) => machine.stopRunning());
  }

  /** The process relguard started on the machine, if it still runs: for operators and tests. */
  runningPid(target: MachineTarget): Promise<number | undefined> {
    return this.withMachine(target, undefined, async (machine) => {
      return (await machine.groupRunning()) ? (await machine.readState()).pid : undefined;
    });
  }
}
