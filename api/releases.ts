import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { AnalysisRequest } from '../activities/analysis';
import {
  analysisWorkflowId,
  appSearchAttribute,
  FailureType,
  packageWorkflowId,
  releaseWorkflowId,
  RelguardError,
  statusSearchAttribute,
  versionSearchAttribute,
  type Deployment,
} from '../domain';
import { appHealthWorkflowId } from '../domain/machine-health';
import type {
  analysisWorkflow,
  appHealthWorkflow,
  packageWorkflow,
  releaseWorkflow,
  retireMachinesWorkflow,
} from '../workflows';
import {
  machineAlertsSignal,
  stopWatchingSignal,
  type MachineAlertsUpdate,
} from '../workflows/app-health/messages';
import type { RetireOutcome } from '../workflows/retire-machines';
import { summaries } from '../workflows/summaries';
import { releaseStaticDetails, releaseStaticSummary, type ReleaseLinks } from './release-metadata';
import {
  approveSignal,
  cancelSignal,
  pauseSignal,
  progressQuery,
  promoteSignal,
  resumeSignal,
  rollbackSignal,
  type ReleaseProgress,
} from '../workflows/release/messages';

export const releaseSignals = {
  pause: pauseSignal,
  resume: resumeSignal,
  approve: approveSignal,
  promote: promoteSignal,
  cancel: cancelSignal,
  rollback: rollbackSignal,
} as const;
export type ReleaseAction = keyof typeof releaseSignals;

/**
 * Where a release's workflow is: it runs, it ended (`status` is Temporal's: COMPLETED,
 * TERMINATED...), or it was never started (`absent`; a fenced id counts as never started).
 */
export type ReleaseRunState =
  { state: 'running' } | { state: 'ended'; status: string } | { state: 'absent' };

/**
 * The type of the placeholder that closes the workflow id of a release that was never started
 * (its api stopped between taking the slot and starting it). No worker registers it, and it
 * is terminated at once: it never runs. A release workflow id is started with
 * REJECT_DUPLICATE, so once this placeholder has had the id, the release cannot start.
 */
export const fenceWorkflowType = 'releaseNeverStarted';

/** The api's view of Temporal: start releases and package builds, signal and query them. */
export interface Releases {
  start(deployment: Deployment): Promise<{ workflowId: string }>;
  /** Whether the release's workflow runs, ended, or was never started (`absent`). */
  runState(deployment: Pick<Deployment, 'id' | 'app_name'>): Promise<ReleaseRunState>;
  /**
   * Makes sure a release that does not run never will: a workflow id that was never started
   * is closed for good (see fenceWorkflowType), so that a late `start` of it is refused. Says
   * whether the release runs, ended, or was never started (`absent`, and now never can be).
   */
  fence(deployment: Pick<Deployment, 'id' | 'app_name'>, reason: string): Promise<ReleaseRunState>;
  progress(deployment: Pick<Deployment, 'id' | 'app_name'>): Promise<ReleaseProgress | undefined>;
  signal(
    deployment: Pick<Deployment, 'id' | 'app_name'>,
    action: ReleaseAction,
    request: { requested_by: string; reason?: string },
  ): Promise<void>;
  /** `expectedSha`: the SHA a push announced the tag at; the build refuses a tag found elsewhere. */
  buildPackage(
    app: { id: string; name: string },
    version: string,
    options?: { expectedSha?: string },
  ): Promise<{ workflowId: string }>;
  /** Starts the analysis of a deployment, or joins the one already running. */
  startAnalysis(request: AnalysisRequest): Promise<{ workflowId: string }>;
  workflowUrl(workflowId: string): string;
  /** Starts the application's health watcher, or leaves the running one; idempotent. */
  watchHealth(app: { id: string; name: string }): Promise<{ workflowId: string }>;
  /** Ends the application's health watcher; one that is not running is fine. */
  stopWatchingHealth(app: { id: string }, reason: string): Promise<void>;
  /** Tells the watcher which alerts fire for its machines (starting it if it is not running). */
  reportMachineAlerts(
    app: { id: string; name: string },
    update: MachineAlertsUpdate,
  ): Promise<void>;
  /** Stops the machines through their platform and waits until each is stopped or failed. */
  retireMachines(app: { id: string; name: string }, machineIds: string[]): Promise<RetireOutcome>;
}

export function temporalReleases(options: {
  client: Client;
  taskQueue: string;
  namespace: string;
  uiUrl: string;
  /** The console's and the api's public URLs, linked from the release's static details. */
  links?: ReleaseLinks;
}): Releases {
  const { client, taskQueue } = options;
  const handleOf = (deployment: Pick<Deployment, 'id' | 'app_name'>) =>
    client.workflow.getHandle(releaseWorkflowId(deployment.app_name, deployment.id));
  const unavailable = (error: unknown) =>
    new RelguardError(
      FailureType.Unavailable,
      `Temporal is unavailable: ${error instanceof Error ? error.message : String(error)}`,
    );

  async function runStateOf(
    deployment: Pick<Deployment, 'id' | 'app_name'>,
  ): Promise<ReleaseRunState> {
    let description;
    try {
      description = await handleOf(deployment).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return { state: 'absent' };
      throw unavailable(error);
    }
    // A fence (another request's, perhaps not yet terminated) means it never started.
    if (description.type === fenceWorkflowType) return { state: 'absent' };
    if (description.status.name === 'RUNNING') return { state: 'running' };
    return { state: 'ended', status: description.status.name };
  }

  const healthWatcherOptions = (app: { id: string; name: string }) => ({
    taskQueue,
    // A start of a watcher already running is the same request: keep the one that runs.
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    typedSearchAttributes: [{ key: appSearchAttribute, value: app.name }],
    staticSummary: `health of ${app.name}: every machine, every interval`,
    staticDetails: `Checks each machine of application ${app.name} (${app.id}) through its platform, Prometheus' up and the alerts firing for it, and writes its status. Ends when the application is deleted.`,
  });

  return {
    async start(deployment) {
      const workflowId = releaseWorkflowId(deployment.app_name, deployment.id);
      try {
        await client.workflow.start<typeof releaseWorkflow>('releaseWorkflow', {
          taskQueue,
          workflowId,
          args: [{ deploymentId: deployment.id }],
          workflowIdConflictPolicy: 'FAIL',
          // A release's workflow id runs once: a closed one (fenced after its api stopped, see
          // `fence`) is never started again, so a superseded start cannot run beside the next.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [
            { key: appSearchAttribute, value: deployment.app_name },
            { key: versionSearchAttribute, value: deployment.package_version },
            { key: statusSearchAttribute, value: deployment.status },
          ],
          // What the Temporal UI shows of the release before it has run a step.
          staticSummary: releaseStaticSummary(deployment),
          staticDetails: releaseStaticDetails(deployment, options.links),
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw unavailable(error);
        // Started already: the same request again, when it runs; a fenced or ended id never
        // starts again.
        const description = await handleOf(deployment)
          .describe()
          .catch((cause: unknown) => {
            throw unavailable(cause);
          });
        if (description.status.name === 'RUNNING' && description.type === 'releaseWorkflow') {
          return { workflowId };
        }
        throw new RelguardError(
          FailureType.Conflict,
          `the release ${deployment.id} of ${deployment.app_name} cannot start: its workflow ${workflowId} is already ${description.status.name} (${description.type}); another request took the application's release slot`,
          { deployment_id: deployment.id },
        );
      }
      return { workflowId };
    },

    async fence(deployment, reason) {
      const workflowId = releaseWorkflowId(deployment.app_name, deployment.id);
      const handle = handleOf(deployment);
      try {
        await client.workflow.start(fenceWorkflowType, {
          taskQueue,
          workflowId,
          args: [],
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // Never dispatched to a worker: terminated below, and should that call be lost, the
          // delay keeps it from a worker until it times out.
          startDelay: '1 day',
          workflowExecutionTimeout: '1 day',
          typedSearchAttributes: [{ key: appSearchAttribute, value: deployment.app_name }],
          staticSummary: `release ${deployment.id} of ${deployment.app_name} never started; its id is closed`,
          staticDetails: reason,
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw unavailable(error);
        return await runStateOf(deployment);
      }
      try {
        await handle.terminate(reason);
      } catch (error) {
        // Ended or terminated by a concurrent request: closed either way.
        if (!(error instanceof WorkflowNotFoundError)) throw unavailable(error);
      }
      return { state: 'absent' };
    },

    runState: runStateOf,

    async progress(deployment) {
      try {
        return await handleOf(deployment).query(progressQuery);
      } catch {
        // A finished or unreachable workflow has no live progress; the Deployment has the rest.
        return undefined;
      }
    },

    async signal(deployment, action, request) {
      const handle = handleOf(deployment);
      try {
        if (action === 'rollback') {
          await handle.signal(rollbackSignal, {
            reason: request.reason ?? `rolled back by ${request.requested_by}`,
            requested_by: request.requested_by,
          });
        } else if (action === 'cancel') {
          await handle.signal(cancelSignal, {
            reason: request.reason ?? `cancelled by ${request.requested_by}`,
            requested_by: request.requested_by,
          });
        } else {
          await handle.signal(releaseSignals[action], { requested_by: request.requested_by });
        }
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          throw new RelguardError(
            FailureType.Conflict,
            `the release ${deployment.id} is not running`,
          );
        }
        throw unavailable(error);
      }
    },

    async buildPackage(app, version, buildOptions = {}) {
      // One build per version: the api, a webhook and a release all start or join this one.
      const workflowId = packageWorkflowId(app.id, version);
      const { expectedSha } = buildOptions;
      try {
        await client.workflow.start<typeof packageWorkflow>('packageWorkflow', {
          taskQueue,
          workflowId,
          args: [{ appId: app.id, version, ...(expectedSha === undefined ? {} : { expectedSha }) }],
          // A build of the same version already running is the same request: join it.
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: summaries.buildPackage(app.name, version),
          staticDetails: `The one build of ${app.name} (${app.id}) ${version}, asked for through the api${expectedSha === undefined ? '' : `; only from commit ${expectedSha}`}.`,
        });
      } catch (error) {
        throw unavailable(error);
      }
      return { workflowId };
    },

    async startAnalysis(request) {
      const workflowId = analysisWorkflowId(request.deploymentId);
      try {
        await client.workflow.start<typeof analysisWorkflow>('analysisWorkflow', {
          taskQueue,
          workflowId,
          args: [request],
          // Alertmanager repeats a firing alert: one analysis at a time per deployment.
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `root-cause analysis of release ${request.deploymentId} (${request.trigger})`,
          staticDetails: request.reason,
        });
      } catch (error) {
        throw unavailable(error);
      }
      return { workflowId };
    },

    async watchHealth(app) {
      const workflowId = appHealthWorkflowId(app.id);
      try {
        await client.workflow.start<typeof appHealthWorkflow>('appHealthWorkflow', {
          ...healthWatcherOptions(app),
          workflowId,
          args: [{ appId: app.id }],
        });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId };
        throw unavailable(error);
      }
      return { workflowId };
    },

    async stopWatchingHealth(app, reason) {
      try {
        await client.workflow.getHandle(appHealthWorkflowId(app.id)).signal(stopWatchingSignal, {
          reason,
        });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return;
        throw unavailable(error);
      }
    },

    async reportMachineAlerts(app, update) {
      try {
        await client.workflow.signalWithStart<typeof appHealthWorkflow, [MachineAlertsUpdate]>(
          'appHealthWorkflow',
          {
            ...healthWatcherOptions(app),
            workflowId: appHealthWorkflowId(app.id),
            args: [{ appId: app.id }],
            signal: machineAlertsSignal,
            signalArgs: [update],
          },
        );
      } catch (error) {
        throw unavailable(error);
      }
    },

    async retireMachines(app, machineIds) {
      try {
        return await client.workflow.execute<typeof retireMachinesWorkflow>(
          'retireMachinesWorkflow',
          {
            taskQueue,
            workflowId: `retire-${app.id}`,
            args: [{ appId: app.id, machineIds }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: `stop the ${machineIds.length} machine(s) of ${app.name}`,
          },
        );
      } catch (error) {
        throw unavailable(error);
      }
    },

    workflowUrl(workflowId) {
      return `${options.uiUrl}/namespaces/${encodeURIComponent(options.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
    },
  };
}
