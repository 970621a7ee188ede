import { newId } from '../../activities/db';
import {
  FailureType,
  isTerminal,
  pendingNodeDeployments,
  planBatches,
  releaseWorkflowId,
  RelguardError,
  type Deployment,
} from '../../domain';
import type { ReleaseProgress } from '../../workflows/release/messages';
import type { ApiVariables } from '../context';

/** A deployment as the api shows it: the stored record, where its workflow is, live progress. */
export async function view(vars: ApiVariables, deployment: Deployment) {
  const workflowId = releaseWorkflowId(deployment.app_name, deployment.id);
  const progress = isTerminal(deployment.status)
    ? undefined
    : await vars.releases.progress(deployment);
  return {
    ...deployment,
    workflow_id: workflowId,
    workflow_url: vars.releases.workflowUrl(workflowId),
    ...(progress === undefined ? {} : { progress: publicProgress(progress) }),
  };
}

function publicProgress(progress: ReleaseProgress) {
  const { status, phase, paused, awaitingApproval, batch, batches, machines } = progress;
  return {
    status,
    phase,
    paused,
    awaitingApproval,
    batch,
    batches,
    machines,
    // A release started before promote existed answers without it.
    promotable: progress.promotable ?? false,
    ...(progress.waitingUntil === undefined ? {} : { waitingUntil: progress.waitingUntil }),
    ...(progress.awaitingJudgement === undefined
      ? {}
      : { awaitingJudgement: progress.awaitingJudgement }),
    ...(progress.reason === undefined ? {} : { reason: progress.reason }),
  };
}

/**
 * Takes the application's release slot. A slot held by a release whose workflow is gone (it
 * was terminated from the Temporal UI, say) is stale: it is given back and taken again.
 */
async function claimReleaseSlot(vars: ApiVariables, appId: string, deploymentId: string) {
  const { applications, deployments } = vars.store;
  try {
    await applications.claimRelease(appId, deploymentId);
  } catch (error) {
    const holder = (await applications.get(appId)).active_deployment_id;
    const active = holder === undefined ? undefined : await deployments.find(holder);
    if (active === undefined || !(await vars.releases.isRunning(active))) {
      if (holder !== undefined) await applications.releaseClaim(appId, holder);
      if (active !== undefined && !isTerminal(active.status)) {
        await deployments.update(active.id, {
          status: 'cancelled',
          reason: 'its workflow ended without finishing the release',
        });
      }
      await applications.claimRelease(appId, deploymentId);
      return;
    }
    throw error;
  }
}

export interface ReleaseRequest {
  app_id: string;
  package_version: string;
  /** Defaults to the application's first machine. */
  gray_machine_id?: string | undefined;
  /** Who asked, recorded on the Deployment: an api token's name, or `github:<login>`. */
  requested_by: string;
  /** The SHA a GitHub push announced the tag at: the release builds it only from there. */
  expected_sha?: string | undefined;
}

/**
 * Starts a release the one way relguard has, whoever asks (the api, a webhook): creates the
 * deployment in the application's release slot and starts its workflow. A release of the
 * application already running is a Conflict; an unknown gray machine, or a version with
 * neither a package nor a repo to build it from, is BadConfig.
 */
export async function startRelease(vars: ApiVariables, request: ReleaseRequest) {
  const app = await vars.store.applications.get(request.app_id);
  const plan = planBatches(app.machines, app.pacer, request.gray_machine_id);
  const existing = await vars.store.packages.findByVersion(app.id, request.package_version);
  if (existing === undefined && !app.repo) {
    throw new RelguardError(
      FailureType.BadConfig,
      `${app.name} has no package of ${request.package_version} and no repo to build one from`,
    );
  }

  const id = newId();
  await claimReleaseSlot(vars, app.id, id);
  let deployment: Deployment;
  try {
    deployment = await vars.store.deployments.create(
      {
        app_name: app.name,
        app_id: app.id,
        status: 'pending',
        package_version: request.package_version,
        gray_machine_id: plan.grayMachineId,
        platform: app.deployment_platform,
        ...(request.expected_sha === undefined ? {} : { expected_sha: request.expected_sha }),
        ...(existing === undefined
          ? {}
          : {
              package: {
                url: existing.url,
                md5: existing.md5,
                size: existing.size,
                created_at: existing.created_at,
              },
            }),
        node_deployments: pendingNodeDeployments(plan, request.package_version),
        previous_version: app.currentVersion,
        actions: [{ action: 'start', by: request.requested_by, at: Date.now() }],
      },
      Date.now(),
      id,
    );
    await vars.releases.start(deployment);
  } catch (error) {
    await vars.store.applications.releaseClaim(app.id, id);
    await vars.store.deployments
      .update(id, { status: 'failed', reason: 'the release could not be started' })
      .catch(() => undefined);
    throw error;
  }
  vars.logger.info(
    { app: app.name, deployment: id, version: request.package_version, by: request.requested_by },
    'release started',
  );
  return await view(vars, deployment);
}
