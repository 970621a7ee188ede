import type { RouteHandler } from '@hono/zod-openapi';
import { newId } from '../../activities/db';
import {
  conflict,
  FailureType,
  isTerminal,
  analysisWorkflowId,
  renderReportMarkdown,
  pendingNodeDeployments,
  planBatches,
  releaseWorkflowId,
  RelguardError,
  type Deployment,
} from '../../domain';
import type { ReleaseProgress } from '../../workflows/release/messages';
import type { ApiEnv, ApiVariables } from '../context';
import type * as routes from './routes';

/** A deployment as the api shows it: the stored record, where its workflow is, live progress. */
async function view(vars: ApiVariables, deployment: Deployment) {
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
    ...(progress.waitingUntil === undefined ? {} : { waitingUntil: progress.waitingUntil }),
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

export const createDeployment: RouteHandler<typeof routes.createDeployment, ApiEnv> = async (c) => {
  const body = c.req.valid('json');
  const vars = c.var;
  const app = await vars.store.applications.get(body.app_id);
  const plan = planBatches(app.machines, app.pacer, body.gray_machine_id);
  const existing = await vars.store.packages.findByVersion(app.id, body.package_version);
  if (existing === undefined && !app.repo) {
    throw new RelguardError(
      FailureType.BadConfig,
      `${app.name} has no package of ${body.package_version} and no repo to build one from`,
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
        package_version: body.package_version,
        gray_machine_id: plan.grayMachineId,
        platform: app.deployment_platform,
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
        node_deployments: pendingNodeDeployments(plan, body.package_version),
        previous_version: app.currentVersion,
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
    { app: app.name, deployment: id, version: body.package_version, by: body.requested_by },
    'release started',
  );
  return c.json(await view(vars, deployment), 202);
};

export const listDeployments: RouteHandler<typeof routes.listDeployments, ApiEnv> = async (c) => {
  const query = c.req.valid('query');
  return c.json({ items: await c.var.store.deployments.list(query) }, 200);
};

export const getDeployment: RouteHandler<typeof routes.getDeployment, ApiEnv> = async (c) => {
  const deployment = await c.var.store.deployments.get(c.req.valid('param').id);
  return c.json(await view(c.var, deployment), 200);
};

/** Why `action` cannot be sent to a release in this state, or undefined when it can. */
function refusal(action: string, progress: ReleaseProgress | undefined): string | undefined {
  if (progress === undefined) return undefined;
  if (progress.status === 'rolling_back') return 'the release is rolling back';
  if (action === 'pause' && progress.paused) return 'the release is paused already';
  if (action === 'resume' && !progress.paused) return 'the release is not paused';
  if (action === 'approve' && !progress.awaitingApproval) {
    return 'the release is not waiting for approval';
  }
  return undefined;
}

export const deploymentAction: RouteHandler<typeof routes.deploymentAction, ApiEnv> = async (c) => {
  const { id, action } = c.req.valid('param');
  const body = c.req.valid('json') ?? {};
  const vars = c.var;
  const deployment = await vars.store.deployments.get(id);
  if (isTerminal(deployment.status)) {
    throw conflict(`the release has ended (${deployment.status}); ${action} is not possible`, {
      status: deployment.status,
    });
  }
  const reason = refusal(action, await vars.releases.progress(deployment));
  if (reason !== undefined) throw conflict(`cannot ${action}: ${reason}`);
  const requestedBy = body.requested_by ?? 'api';
  await vars.releases.signal(deployment, action, {
    requested_by: requestedBy,
    ...(body.reason === undefined ? {} : { reason: body.reason }),
  });
  vars.logger.info({ deployment: id, action, by: requestedBy }, 'release signalled');
  return c.json(await view(vars, deployment), 202);
};

export const getAnalysis: RouteHandler<typeof routes.getAnalysis, ApiEnv> = async (c) => {
  const deployment = await c.var.store.deployments.get(c.req.valid('param').id);
  const report = await c.var.store.analysisReports.findByDeployment(deployment.id);
  if (report === undefined) {
    // Its workflow id says where to look in the Temporal UI while it runs.
    throw new RelguardError(
      FailureType.NotFound,
      `deployment ${deployment.id} has no analysis report yet: an analysis runs when a release is rolled back or an alert fires for it`,
      { id: deployment.id, workflow_id: analysisWorkflowId(deployment.id) },
    );
  }
  if (c.req.valid('query').format === 'markdown') {
    return c.body(renderReportMarkdown(report), 200, {
      'content-type': 'text/markdown; charset=utf-8',
    });
  }
  return c.json(report, 200);
};
