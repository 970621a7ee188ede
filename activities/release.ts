import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import {
  FailureType,
  RelguardError,
  type Application,
  type Deployment,
  type DeploymentPlatform as PlatformKind,
  type DeploymentStatus,
  type NodeDeployment,
  type PackageInfo,
  type PackageRecord,
  type PacerConfig,
  type ReleaseEvent,
  type RollbackPolicy,
  type RollbackRecord,
  packageInfoOf,
} from '../domain';
import { dataGraceMs } from '../domain/guard-timing';
import { maxRangeSeconds } from '../domain/promql-templates';
import type { Repositories } from './db';
import { asActivity } from './failures';
import { recordPackage } from './package-record';
import type { Logger } from './logger';
import type { CommandSettings } from './platform/command-env';
import { buildPackage, DEFAULT_GIT_TIMEOUT_SECONDS, packageKey } from './package-build';
import type { PackageStore } from './package-store/types';
import type { DeployPlatform, DeployResult, MachineTarget, PackageRef } from './platform/types';
import { writeTargets } from './prometheus-targets';
import { SingleFlight } from './single-flight';
import { throughStoreOutage } from './db/store-outage';

export interface ReleaseDeps {
  store: Repositories;
  packageStore: PackageStore;
  platforms: Record<PlatformKind, DeployPlatform>;
  buildDir: string;
  /** Who build_cmd runs as and what it is given (RELGUARD_RUN_AS, RELGUARD_COMMAND_ENV). */
  commands?: CommandSettings;
  /** GIT_TIMEOUT_SECONDS: how long a build's git fetch may take (DEFAULT_GIT_TIMEOUT_SECONDS). */
  gitTimeoutSeconds?: number;
  packageUrlTtlSeconds: number;
  /** Prometheus file-SD folder: every machine's version is written there as it changes. */
  targetsDir: string;
  /** Prometheus' scrape interval for the machines relguard deploys. */
  scrapeIntervalSeconds: number;
  logger: Logger;
}

/** What the release workflow needs to know to drive a deployment; read once at its start. */
export interface ReleasePlan {
  deploymentId: string;
  appId: string;
  appName: string;
  version: string;
  /** The version to restore on rollback; empty on a first release. */
  previousVersion: string;
  pacer: PacerConfig;
  rollbackPolicy: RollbackPolicy;
  nodes: Pick<NodeDeployment, 'machine_id' | 'batch' | 'status'>[];
  packageReady: boolean;
  /** How long the guard expects no data from a new machine (see dataGraceMs). */
  guardDataGraceMs: number;
}

type NodeChanges = Parameters<Repositories['deployments']['setNodeDeployment']>[2];
type MachineChanges = Parameters<Repositories['applications']['updateMachine']>[2];

export interface MachineRequest {
  deploymentId: string;
  machineId: string;
}

const heartbeatEveryMs = 5000;

/**
 * How long a machine activity waits for an unavailable store before it fails. A machine has
 * three attempts a few seconds apart: without the wait, a MongoDB restart would fail the
 * machine and roll the release back, blaming it for the database.
 */
const storeOutageToleranceMs = 5 * 60_000;

/**
 * Runs `body` with the activity's cancellation signal and a heartbeat that carries the last
 * step, every few seconds even while a step waits (a download, a health check): Temporal
 * notices a dead worker within the heartbeat timeout and cancels reach the platform.
 */
export async function withHeartbeat<T>(
  body: (signal: AbortSignal, onProgress: (step: string) => void) => Promise<T>,
): Promise<T> {
  const context = Context.current();
  let step = 'starting';
  const timer = setInterval(() => context.heartbeat(step), heartbeatEveryMs);
  try {
    return await body(context.cancellationSignal, (next) => {
      step = next;
      context.heartbeat(step);
    });
  } finally {
    clearInterval(timer);
  }
}

/** The fields of a Deployment a machine activity needs; none changes after it is created. */
type ReleaseOfMachine = Pick<
  Deployment,
  'id' | 'app_id' | 'package_version' | 'previous_version'
> & {
  /** Each machine's batch (0 is the gray machine), as its steps are recorded on the timeline. */
  batches: ReadonlyMap<string, number>;
};

/** How many releases' fixed fields a worker keeps (a release's machines ask again and again). */
const rememberedReleases = 200;

export function createReleaseActivities(deps: ReleaseDeps) {
  const { store, packageStore, platforms, logger } = deps;

  function targetOf(app: Application, machineId: string): MachineTarget {
    const machine = app.machines.find((candidate) => candidate.id === machineId);
    if (machine === undefined) {
      throw new RelguardError(
        FailureType.NotFound,
        `machine ${machineId} is no longer a machine of ${app.name}`,
      );
    }
    return { app, machine };
  }

  /**
   * A store call of a machine activity: it waits out a store outage, heartbeating so that
   * Temporal knows the worker is alive, instead of failing the machine.
   */
  function stored<T>(what: string, call: () => Promise<T>): Promise<T> {
    const context = Context.current();
    return throughStoreOutage(call, {
      maxWaitMs: storeOutageToleranceMs,
      signal: context.cancellationSignal,
      onWait: (error, attempt) => {
        context.heartbeat(`waiting for the store to ${what}`);
        if (attempt === 1) {
          logger.warn({ err: error, what }, 'the store is unavailable; waiting for it');
        }
      },
    });
  }

  /**
   * Records where a machine ended up, in the deployment's record of it and in the application
   * (two documents, written at once), then Prometheus' targets from the application as written.
   */
  async function recordMachine(
    deploymentId: string,
    appId: string,
    machineId: string,
    node: NodeChanges,
    machine: MachineChanges,
    event: ReleaseEvent,
  ): Promise<void> {
    const [, updatedApp] = await Promise.all([
      stored(`record the ${node.status ?? 'machine'}`, () =>
        store.deployments.recordMachineStep(deploymentId, machineId, node, event),
      ),
      stored('record the machine', () =>
        store.applications.updateMachine(appId, machineId, machine),
      ),
      stored("record the machine's history", () => recordMachineEvent(appId, machineId, machine)),
    ]);
    await writeTargets(deps.targetsDir, updatedApp);
  }

  /** A status the release gives a machine goes into its history, as the watcher's do. */
  async function recordMachineEvent(
    appId: string,
    machineId: string,
    machine: MachineChanges,
  ): Promise<void> {
    if (machine.status === undefined || machine.status_since === undefined) return;
    await store.machineEvents.record([
      {
        app_id: appId,
        machine_id: machineId,
        status: machine.status,
        reason: machine.status_reason ?? '',
        version: machine.version ?? '',
        at: machine.status_since,
      },
    ]);
  }

  // The machines of a batch start together and read the same documents: one read each.
  const reads = new SingleFlight();
  // What a machine activity reads of its deployment never changes once the api wrote it, and
  // each batch's machines would otherwise wait for one more read before their deploy starts.
  const releases = new Map<string, ReleaseOfMachine>();

  async function releaseOf(deploymentId: string): Promise<ReleaseOfMachine> {
    const known = releases.get(deploymentId);
    if (known !== undefined) return known;
    const deployment = await stored('read the deployment', () =>
      reads.run(`deployment ${deploymentId}`, () => store.deployments.get(deploymentId)),
    );
    const release: ReleaseOfMachine = {
      id: deployment.id,
      app_id: deployment.app_id,
      package_version: deployment.package_version,
      previous_version: deployment.previous_version,
      batches: new Map(deployment.node_deployments.map((node) => [node.machine_id, node.batch])),
    };
    if (releases.size >= rememberedReleases) releases.delete(releases.keys().next().value!);
    releases.set(deploymentId, release);
    return release;
  }

  /** The deployment, its application, the machine and the platform that runs it. */
  async function machineOf(request: MachineRequest) {
    // Each activity waits out an outage itself (its own heartbeat and cancellation); only the
    // store call is shared.
    const deployment = await releaseOf(request.deploymentId);
    const app = await stored('read the application', () =>
      reads.run(`application ${deployment.app_id}`, () =>
        store.applications.get(deployment.app_id),
      ),
    );
    return {
      deployment,
      app,
      target: targetOf(app, request.machineId),
      platform: platforms[app.deployment_platform],
    };
  }

  async function packageRef(appId: string, version: string): Promise<PackageRef> {
    const record = await stored('read the package', () =>
      reads.run(`package ${appId} ${version}`, () => store.packages.findByVersion(appId, version)),
    );
    if (record === undefined) {
      throw new RelguardError(FailureType.NotFound, `no package of version ${version}`, {
        version,
      });
    }
    return {
      version,
      url: await packageStore.downloadUrl(record.key, deps.packageUrlTtlSeconds),
      md5: record.md5,
      ...(record.sha256 === undefined ? {} : { sha256: record.sha256 }),
      size: record.size,
    };
  }

  async function buildAndStore(
    app: Application,
    version: string,
    expectedSha: string | undefined,
  ): Promise<PackageRecord> {
    const workDir = path.join(deps.buildDir, `${app.name}-${version}-${randomUUID().slice(0, 8)}`);
    await mkdir(workDir, { recursive: true });
    try {
      const built = await withHeartbeat((signal, onProgress) =>
        buildPackage(
          {
            appName: app.name,
            repo: app.repo,
            version,
            workDir,
            ...(expectedSha === undefined ? {} : { expectedSha }),
            ...(app.build_cmd ? { buildCmd: app.build_cmd } : {}),
            ...(app.artifact_path ? { artifactPath: app.artifact_path } : {}),
          },
          {
            signal,
            onProgress,
            gitTimeoutMs: (deps.gitTimeoutSeconds ?? DEFAULT_GIT_TIMEOUT_SECONDS) * 1000,
            ...(deps.commands === undefined ? {} : { commands: deps.commands }),
          },
        ),
      );
      // Content-addressed: another build's bytes of this version live under another key.
      const key = packageKey(app.name, version, built.sha256);
      // A long upload (Kodo) heartbeats, and ends at PACKAGE_UPLOAD_TIMEOUT_SECONDS.
      const put = await withHeartbeat((signal, onProgress) =>
        packageStore.put(key, built.filePath, built, { signal, onProgress }),
      );
      logger.info(
        {
          app: app.name,
          version,
          key,
          md5: built.md5,
          sha256: built.sha256,
          commit: built.commitSha,
          put,
        },
        'package built and stored',
      );
      return await recordPackage(
        {
          app_id: app.id,
          app_name: app.name,
          version,
          key,
          url: packageStore.url(key),
          md5: built.md5,
          sha256: built.sha256,
          size: built.size,
          created_at: Date.now(),
          commit_sha: built.commitSha,
          ...(built.tagSha === built.commitSha ? {} : { tag_sha: built.tagSha }),
        },
        store.packages,
      );
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  return {
    async loadRelease(deploymentId: string): Promise<ReleasePlan> {
      return asActivity(async () => {
        const deployment = await store.deployments.get(deploymentId);
        const app = await store.applications.get(deployment.app_id);
        const pkg = await store.packages.findByVersion(app.id, deployment.package_version);
        return {
          deploymentId,
          appId: app.id,
          appName: app.name,
          version: deployment.package_version,
          previousVersion: deployment.previous_version,
          pacer: app.pacer,
          rollbackPolicy: app.rollback_policy,
          nodes: deployment.node_deployments.map(({ machine_id, batch, status }) => ({
            machine_id,
            batch,
            status,
          })),
          packageReady: pkg !== undefined,
          guardDataGraceMs: dataGraceMs({
            scrapeIntervalSeconds: deps.scrapeIntervalSeconds,
            rangeSeconds: maxRangeSeconds(app.red_metrics_config, app.rollback_policy.rules),
          }),
        };
      });
    },

    /**
     * The package of `version`: the one recorded if there is one, otherwise built from the
     * application's repo at that tag and stored. Recorded on the deployment when given.
     */
    async ensurePackage(request: {
      appId: string;
      version: string;
      deploymentId?: string;
      /** The SHA a push announced the tag at; a release's comes from its deployment. */
      expectedSha?: string;
    }): Promise<PackageInfo> {
      return asActivity(async () => {
        const app = await store.applications.get(request.appId);
        const expectedSha =
          request.expectedSha ??
          (request.deploymentId === undefined
            ? undefined
            : (await store.deployments.get(request.deploymentId)).expected_sha);
        const existing = await store.packages.findByVersion(app.id, request.version);
        if (existing !== undefined && expectedSha !== undefined) {
          checkBuiltFrom(existing, expectedSha);
        }
        const record = existing ?? (await buildAndStore(app, request.version, expectedSha));
        const info = packageInfoOf(record);
        if (request.deploymentId) await store.deployments.setPackage(request.deploymentId, info);
        return info;
      });
    },

    async recordDeploymentStatus(request: {
      deploymentId: string;
      status: DeploymentStatus;
      reason?: string;
    }): Promise<void> {
      await asActivity(() => {
        const reason = request.reason === undefined ? {} : { reason: request.reason };
        return store.deployments.updateWithEvent(
          request.deploymentId,
          { status: request.status, ...reason },
          statusEvent(request.status, request.reason),
        );
      });
    },

    /** Puts the deployment's version on one machine; a machine already on it is left alone. */
    async deployMachine(request: MachineRequest): Promise<DeployResult> {
      return asActivity(async () => {
        const { deployment, app, target, platform } = await machineOf(request);
        const version = deployment.package_version;
        // The machine does not wait for its status to be written: the write runs beside the
        // deploy and is awaited before the outcome is written.
        const startedAt = Date.now();
        const step = machineStep(deployment, request.machineId);
        const recordedStart = stored('record the start', () =>
          store.deployments.recordMachineStep(
            deployment.id,
            request.machineId,
            { status: 'deploying', started_at: startedAt },
            step(startedAt, 'deploying', version),
          ),
        );
        // Awaited below; until then a failure of it is not an unhandled rejection.
        recordedStart.catch(() => undefined);
        try {
          const pkg = await packageRef(app.id, version);
          const result = await withHeartbeat((signal, onProgress) =>
            platform.deploy(target, pkg, { signal, onProgress }),
          );
          const finishedAt = Date.now();
          await recordedStart;
          await recordMachine(
            deployment.id,
            app.id,
            request.machineId,
            { status: 'deployed', finished_at: finishedAt },
            {
              version,
              status: 'healthy',
              status_reason: `deployed ${version}; its health check passed`,
              status_since: finishedAt,
            },
            step(finishedAt, 'deployed', version),
          );
          logger.info({ app: app.name, machine: request.machineId, ...result }, 'deployed');
          return result;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          await recordedStart.catch(() => undefined);
          const finishedAt = Date.now();
          const failedMachine = {
            status: 'error' as const,
            status_reason: `deploy of ${version} failed: ${message}`,
            status_since: finishedAt,
          };
          // The documents, written at once, as recordMachine does.
          await Promise.all([
            stored('record the failure', () =>
              store.deployments.recordMachineStep(
                deployment.id,
                request.machineId,
                { status: 'failed', finished_at: finishedAt, error: message },
                { ...step(finishedAt, 'failed', version), reason: message },
              ),
            ),
            stored('record the machine', () =>
              store.applications.updateMachine(app.id, request.machineId, failedMachine),
            ),
            stored("record the machine's history", () =>
              recordMachineEvent(app.id, request.machineId, {
                ...failedMachine,
                version: app.machines.find((m) => m.id === request.machineId)?.version ?? '',
              }),
            ),
          ]);
          logger.warn(
            { app: app.name, machine: request.machineId, version, error: message },
            'deploy failed',
          );
          throw error;
        }
      });
    },

    /** Puts one machine back on the deployment's previous version (kept on disk when it can). */
    async rollbackMachine(request: MachineRequest): Promise<DeployResult> {
      return asActivity(async () => {
        const { deployment, app, target, platform } = await machineOf(request);
        const version = deployment.previous_version;
        const step = machineStep(deployment, request.machineId);
        await stored('record the rollback', () =>
          store.deployments.recordMachineStep(
            deployment.id,
            request.machineId,
            { status: 'rolling_back' },
            step(Date.now(), 'rolling_back', version),
          ),
        );
        const pkg = await packageRef(app.id, version);
        const result = await withHeartbeat((signal, onProgress) =>
          platform.rollback(target, pkg, { signal, onProgress }),
        );
        const rolledBackAt = Date.now();
        await recordMachine(
          deployment.id,
          app.id,
          request.machineId,
          { status: 'rolled_back', version, finished_at: rolledBackAt },
          {
            version,
            status: 'healthy',
            status_reason: `rolled back to ${version}; its health check passed`,
            status_since: rolledBackAt,
          },
          step(rolledBackAt, 'rolled_back', version),
        );
        logger.info({ app: app.name, machine: request.machineId, version }, 'rolled back');
        return result;
      });
    },

    /** Stops one machine: the rollback of a first release, which has nothing to go back to. */
    async stopMachine(request: MachineRequest): Promise<void> {
      await asActivity(async () => {
        const { deployment, app, target, platform } = await machineOf(request);
        await platform.stop(target);
        const stoppedAt = Date.now();
        await recordMachine(
          deployment.id,
          app.id,
          request.machineId,
          { status: 'rolled_back', version: '', finished_at: stoppedAt },
          {
            version: '',
            status: 'unknown',
            status_reason: 'stopped by the rollback of its first release',
            status_since: stoppedAt,
          },
          machineStep(deployment, request.machineId)(stoppedAt, 'rolled_back', ''),
        );
      });
    },

    /**
     * Ends a release in MongoDB: a success makes the version the application's current one,
     * every ending gives the release slot back, and only then is the deployment's final status
     * written, so that a reader who sees it ended sees the application as it left it.
     */
    async finishRelease(request: {
      deploymentId: string;
      status: DeploymentStatus;
      reason?: string;
      rollback?: RollbackRecord;
    }): Promise<void> {
      await asActivity(async () => {
        const deployment = await store.deployments.get(request.deploymentId);
        if (request.status === 'succeeded') {
          await store.applications.recordRelease(deployment.app_id, deployment.package_version);
        }
        await store.applications.releaseClaim(deployment.app_id, deployment.id);
        await store.deployments.updateWithEvent(
          deployment.id,
          {
            status: request.status,
            ...(request.reason === undefined ? {} : { reason: request.reason }),
            ...(request.rollback === undefined ? {} : { rollback: request.rollback }),
          },
          statusEvent(request.status, request.reason),
        );
      });
    },
  };
}

export type ReleaseActivities = ReturnType<typeof createReleaseActivities>;

/** The timeline's step of a change of the deployment's status. */
function statusEvent(status: DeploymentStatus, reason: string | undefined): ReleaseEvent {
  return { at: Date.now(), kind: 'status', status, ...(reason === undefined ? {} : { reason }) };
}

/** The timeline's steps of one machine: its status at a time, and the version it is going to. */
function machineStep(release: ReleaseOfMachine, machineId: string) {
  const batch = release.batches.get(machineId);
  return (at: number, status: NodeDeployment['status'], version: string): ReleaseEvent => ({
    at,
    kind: 'machine',
    status,
    machine_id: machineId,
    ...(batch === undefined ? {} : { batch }),
    version,
  });
}

/**
 * Refuses a stored package of a version whose tag a push announced at another SHA: the tag
 * moved after the package was built, and what was pushed is not what would be deployed. A
 * package with no recorded commit (uploaded through the api, or built before commits were
 * recorded) is refused too: nothing says it is the pushed code, and an upload made before the
 * tag's push would otherwise be deployed by the push's release.
 */
export function checkBuiltFrom(record: PackageRecord, expectedSha: string): void {
  const expected = expectedSha.toLowerCase();
  if (record.commit_sha === undefined) {
    throw new RelguardError(
      FailureType.BadConfig,
      `the package of ${record.app_name} ${record.version} has no recorded commit: it was uploaded (or built before commits were recorded), not built from ${expected} that the tag was pushed at, and is not deployed; packages are immutable: tag a new version`,
      { version: record.version, expectedSha: expected },
    );
  }
  if (expected === record.commit_sha || expected === record.tag_sha) return;
  const object = record.tag_sha === undefined ? '' : ` (tag object ${record.tag_sha})`;
  throw new RelguardError(
    FailureType.BadConfig,
    `the package of ${record.app_name} ${record.version} was built from commit ${record.commit_sha}${object}, not from ${expected} that the tag was pushed at: the tag moved; packages are immutable: tag a new version`,
    {
      version: record.version,
      expectedSha: expected,
      commitSha: record.commit_sha,
      ...(record.tag_sha === undefined ? {} : { tagSha: record.tag_sha }),
    },
  );
}
