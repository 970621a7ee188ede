import { createRoute, z } from '@hono/zod-openapi';
import { AnalysisReport, Deployment } from '../../domain';
import { errorResponses } from '../responses';
import { IdParam, json } from '../route-parts';

const tags = ['deployments'];

export const CreateDeployment = z
  .strictObject({
    app_id: z.string().min(1),
    package_version: z.string().min(1).max(128),
    /** Defaults to the application's first machine. */
    gray_machine_id: z.string().min(1).optional(),
    requested_by: z.string().min(1).max(100).optional(),
  })
  .openapi('CreateDeployment');

const MachineProgress = z.object({
  machine_id: z.string(),
  batch: z.number(),
  status: z.string(),
});

export const ReleaseProgress = z
  .object({
    status: z.string(),
    phase: z.string(),
    paused: z.boolean(),
    awaitingApproval: z.boolean(),
    batch: z.number(),
    batches: z.number(),
    machines: z.array(MachineProgress),
    waitingUntil: z.number().optional(),
    reason: z.string().optional(),
  })
  .openapi('ReleaseProgress');

const DeploymentView = Deployment.extend({
  workflow_id: z.string(),
  workflow_url: z.string(),
  /** Live state from the workflow while it runs. */
  progress: ReleaseProgress.optional(),
}).openapi('Deployment');

export const createDeployment = createRoute({
  method: 'post',
  path: '/api/v1/deployments',
  tags,
  summary: 'Start a release of an application version',
  description:
    'Creates the deployment and starts its release workflow. One release per application runs at a time (409).',
  request: { body: { required: true, content: json(CreateDeployment) } },
  responses: {
    202: {
      description: 'Started; follow it with GET /api/v1/deployments/{id}',
      content: json(DeploymentView),
    },
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
    422: errorResponses[422],
    503: errorResponses[503],
  },
});

export const listDeployments = createRoute({
  method: 'get',
  path: '/api/v1/deployments',
  tags,
  summary: 'List deployments, newest first',
  request: {
    query: z.object({
      app_id: z.string().min(1).optional(),
      limit: z.coerce.number().int().min(1).max(500).optional(),
    }),
  },
  responses: {
    200: { description: 'Deployments', content: json(z.object({ items: z.array(Deployment) })) },
    400: errorResponses[400],
  },
});

export const getDeployment = createRoute({
  method: 'get',
  path: '/api/v1/deployments/{id}',
  tags,
  summary: 'A deployment, with its live progress while it runs',
  request: { params: IdParam },
  responses: {
    200: { description: 'The deployment', content: json(DeploymentView) },
    404: errorResponses[404],
  },
});

export const ReleaseActionBody = z
  .strictObject({
    reason: z.string().min(1).max(2000).optional(),
    requested_by: z.string().min(1).max(100).optional(),
  })
  .openapi('ReleaseAction');

export const releaseActions = ['pause', 'resume', 'approve', 'rollback', 'cancel'] as const;

export const deploymentAction = createRoute({
  method: 'post',
  path: '/api/v1/deployments/{id}/{action}',
  tags,
  summary: 'Pause, resume, approve, roll back or cancel a running release',
  request: {
    params: IdParam.extend({
      action: z.enum(releaseActions).openapi({ param: { name: 'action', in: 'path' } }),
    }),
    body: { required: false, content: json(ReleaseActionBody) },
  },
  responses: {
    202: { description: 'Sent to the release', content: json(DeploymentView) },
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
    422: errorResponses[422],
    503: errorResponses[503],
  },
});

export const getAnalysis = createRoute({
  method: 'get',
  path: '/api/v1/deployments/{id}/analysis',
  tags,
  summary: "The root-cause report of a deployment's rollback or alert",
  description:
    'JSON by default; `?format=markdown` gives the report as Markdown for a person. 404 until an analysis has written it.',
  request: {
    params: IdParam,
    query: z.object({ format: z.enum(['json', 'markdown']).default('json') }),
  },
  responses: {
    200: {
      description: 'The report',
      content: {
        ...json(AnalysisReport.openapi('AnalysisReport')),
        'text/markdown': { schema: z.string() },
      },
    },
    400: errorResponses[400],
    404: errorResponses[404],
  },
});
