import type { Application, Machine } from '../../domain';

/** What a platform needs to know of the application to run one of its machines. */
export type AppRuntime = Pick<
  Application,
  'name' | 'deploy_path' | 'config_path' | 'start_cmd' | 'stop_cmd' | 'health_check'
>;

/** One machine of one application. */
export interface MachineTarget {
  app: AppRuntime;
  machine: Machine;
}

/** A package as a machine fetches it: `url` must be fetchable by the machine right now. */
export interface PackageRef {
  version: string;
  url: string;
  md5: string;
  /** Checked with the MD5 when the package has one (every package recorded since it exists). */
  sha256?: string;
  size: number;
}

export interface DeployResult {
  machine_id: string;
  version: string;
  /** false when the machine already ran this version and was healthy, so nothing was done. */
  changed: boolean;
}

export interface HealthResult {
  healthy: boolean;
  /** HTTP status of the health check, when it answered. */
  status?: number;
  error?: string;
}

/** Progress of a long step, for activity heartbeats. */
export type ProgressListener = (step: string) => void;

/**
 * A deploy platform: how relguard puts a version on one machine. Every method is idempotent;
 * a method given an aborted signal stops at its next step and leaves the machine runnable.
 */
export interface DeployPlatform {
  /**
   * Installs `pkg` on the machine and starts it, then waits for its health check. Does nothing
   * when the machine already runs `pkg.version` and is healthy. Verifies the SHA-256, the MD5 and the archive
   * (no absolute paths, no `..`, no links out of the release folder) before anything on the
   * machine changes; a bad package is a BadPackage RelguardError. Keeps the last N releases on
   * disk.
   */
  deploy(
    target: MachineTarget,
    pkg: PackageRef,
    options?: { signal?: AbortSignal; onProgress?: ProgressListener },
  ): Promise<DeployResult>;

  /**
   * Puts the machine back on `pkg.version`: from the release kept on disk when there is one
   * (no download), otherwise as deploy() does. Idempotent like deploy().
   */
  rollback(
    target: MachineTarget,
    pkg: PackageRef,
    options?: { signal?: AbortSignal; onProgress?: ProgressListener },
  ): Promise<DeployResult>;

  /** Asks the machine's health check once (GET http://host:port + health_check.path). */
  health(target: MachineTarget): Promise<HealthResult>;

  /** The version the machine's `current` release is, or undefined when it has none. */
  currentVersion(target: MachineTarget): Promise<string | undefined>;

  /** Runs stop_cmd (or stops the process relguard started); idempotent. */
  stop(target: MachineTarget): Promise<void>;
}
