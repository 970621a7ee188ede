import type { RouteHandler } from '@hono/zod-openapi';
import {
  conflict,
  FailureType,
  isTerminal,
  analysisWorkflowId,
  renderReportMarkdown,
  RelguardError,
} from '../../domain';
import type { ReleaseProgress } from '../../workflows/release/messages';
import type { ApiEnv, ApiVariables } from '../context';
import { prometheusOf } from '../prometheus-series';
import { queryReportSeries } from './report-series';
import type * as routes from './routes';
import { startRelease, view } from './start-release';

export const createDeployment: RouteHandler<typeof routes.createDeployment, ApiEnv> = async (c) => {
  const body = c.req.valid('json');
  const deployment = await startRelease(c.var, {
    app_id: body.app_id,
    package_version: body.package_version,
    gray_machine_id: body.gray_machine_id,
    requested_by: requester(c.var, body.requested_by),
  });
  return c.json(deployment, 202);
};

export const listDeployments: RouteHandler<typeof routes.listDeployments, ApiEnv> = async (c) => {
  const query = c.req.valid('query');
  return c.json({ items: await c.var.store.deployments.list(query) }, 200);
};

export const getDeployment: RouteHandler<typeof routes.getDeployment, ApiEnv> = async (c) => {
  const deployment = await c.var.store.deployments.get(c.req.valid('param').id);
  return c.json(await view(c.var, deployment), 200);
};

/**
 * Who asks for a release or an action on one: the api token's name, and the person a
 * pipeline's token acts for when the body names one (`ci for alice`).
 */
export function requester(vars: ApiVariables, onBehalfOf: string | undefined): string {
  const token = vars.principal?.name ?? 'unknown';
  return onBehalfOf === undefined || onBehalfOf === token ? token : `${token} for ${onBehalfOf}`;
}

/** Why `action` cannot be sent to a release in this state, or undefined when it can. */
function refusal(action: string, progress: ReleaseProgress | undefined): string | undefined {
  if (progress === undefined) return undefined;
  if (progress.status === 'rolling_back') return 'the release is rolling back';
  if (action === 'pause' && progress.paused) return 'the release is paused already';
  if (action === 'resume' && !progress.paused) return 'the release is not paused';
  if (action === 'promote' && !progress.promotable) {
    return 'the release is not waiting (promote ends a bake, an interval or the verification window)';
  }
  if (action === 'approve' && !progress.awaitingApproval) {
    return 'the release is not waiting for approval';
  }
  return undefined;
}

/** The handler of POST /api/v1/deployments/{id}/<action> (routes.deploymentActionRoute). */
export const deploymentAction =
  (action: routes.ReleaseAction): RouteHandler<routes.DeploymentActionRoute, ApiEnv> =>
  async (c) => {
    const { id } = c.req.valid('param');
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
    // The token says who asks; a pipeline's token may name the person it acts for.
    const requestedBy = requester(vars, body.requested_by);
    await vars.releases.signal(deployment, action, {
      requested_by: requestedBy,
      ...(body.reason === undefined ? {} : { reason: body.reason }),
    });
    await vars.store.deployments.recordAction(id, {
      action,
      by: requestedBy,
      at: Date.now(),
      ...(body.reason === undefined ? {} : { reason: body.reason }),
    });
    vars.logger.info({ deployment: id, action, by: requestedBy }, 'release signalled');
    return c.json(await view(vars, deployment), 202);
  };

/**
 * The report of a deployment (and the deployment), or a 404 naming the analysis workflow to
 * look at while it runs.
 */
async function reportOf(vars: ApiVariables, deploymentId: string) {
  const deployment = await vars.store.deployments.get(deploymentId);
  const report = await vars.store.analysisReports.findByDeployment(deployment.id);
  if (report === undefined) {
    // Its workflow id says where to look in the Temporal UI while it runs.
    throw new RelguardError(
      FailureType.NotFound,
      `deployment ${deployment.id} has no analysis report yet: an analysis runs when a release is rolled back or an alert fires for it`,
      { id: deployment.id, workflow_id: analysisWorkflowId(deployment.id) },
    );
  }
  return { report, deployment };
}

export const getAnalysis: RouteHandler<typeof routes.getAnalysis, ApiEnv> = async (c) => {
  const { report } = await reportOf(c.var, c.req.valid('param').id);
  if (c.req.valid('query').format === 'markdown') {
    // Its charts are linked on the console; without CONSOLE_PUBLIC_URL, this api's own.
    const consoleUrl = c.var.consoleUrl ?? new URL('/console', c.req.url).href;
    return c.body(renderReportMarkdown(report, { consoleUrl }), 200, {
      'content-type': 'text/markdown; charset=utf-8',
    });
  }
  return c.json(report, 200);
};

export const getAnalysisSeries: RouteHandler<typeof routes.getAnalysisSeries, ApiEnv> = async (
  c,
) => {
  const { report, deployment } = await reportOf(c.var, c.req.valid('param').id);
  return c.json(await queryReportSeries(prometheusOf(c.var), report, deployment), 200);
};

export const getGuardEvaluations: RouteHandler<typeof routes.getGuardEvaluations, ApiEnv> = async (
  c,
) => {
  const deployment = await c.var.store.deployments.get(c.req.valid('param').id);
  const items = await c.var.store.guardEvaluations.listByDeployment(
    deployment.id,
    c.req.valid('query').limit,
  );
  return c.json({ deployment_id: deployment.id, items }, 200);
};
