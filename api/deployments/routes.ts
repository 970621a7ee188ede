import { createRoute, z } from '@hono/zod-openapi';
import {
  AnalysisReport,
  Deployment,
  DeploymentStatus,
  GuardEvaluationRecord,
  guardEvaluationsKept,
  NodeDeploymentStatus,
  Version,
} from '../../domain';
import type { ReleaseMarker } from '../../domain/release-timeline';
import { MetricSeries } from '../prometheus-series';
import {
  deploymentLinks,
  errorResponses,
  withJsonBodyErrors,
  link,
  type OperationId,
} from '../responses';
import { IdParam, json } from '../route-parts';

const tags = ['deployments'];

export const CreateDeployment = z
  .strictObject({
    app_id: z
      .string()
      .min(1)
      .openapi({ description: "The application's id (404 when no application has it)" }),
    package_version: Version,
    /** Defaults to the application's first machine. */
    gray_machine_id: z.string().min(1).optional().openapi({
      description:
        "The machine deployed first, alone, and baked: the id of one of the application's machines (another id is 422 naming it in `error.details.gray_machine_id`). Default: the application's first machine",
    }),
    requested_by: z.string().min(1).max(100).optional().openapi({
      description:
        'Who the token acts for (`ci for alice`): 1 to 100 characters, counted in UTF-16 code units (a character beyond U+FFFF counts two)',
    }),
  })
  .openapi('CreateDeployment', {
    description:
      'A release to start. Besides the schema, it is 422 when the application has no machines, or has neither a package of the version nor a repo to build one from.',
  });

const MachineProgress = z.object({
  machine_id: z.string(),
  batch: z.number(),
  status: NodeDeploymentStatus,
});

export const ReleaseProgress = z
  .object({
    status: DeploymentStatus,
    phase: z.string(),
    paused: z.boolean(),
    awaitingApproval: z.boolean(),
    batch: z.number(),
    batches: z.number(),
    machines: z.array(MachineProgress),
    waitingUntil: z.number().optional(),
    /** While promotion waits for the metric guard: the conclusive evaluations it needs. */
    awaitingJudgement: z.object({ machines: z.number(), required: z.number() }).optional(),
    /** A wait (bake, interval, the guard's judgement, the verification window) that promote ends. */
    promotable: z.boolean(),
    reason: z.string().optional(),
  })
  .openapi('ReleaseProgress');

const DeploymentView = Deployment.extend({
  workflow_id: z.string(),
  workflow_url: z.string(),
  /** Live state from the workflow while it runs. */
  progress: ReleaseProgress.optional(),
}).openapi('Deployment');

/**
 * The 409 of POST /deployments: the application's one release slot is taken, by this release.
 * It always names the release that holds the slot now (read again when answering); when the
 * slot changed hands while the request waited and no release holds it any more, the answer is
 * a 503 to retry instead, never a 409 without a holder or naming a release that never ran.
 */
const ReleaseInProgress = z
  .object({
    error: z.object({
      code: z.literal('conflict'),
      message: z.string(),
      details: z.object({
        deployment_id: z.string().openapi({ description: 'The release that holds the slot' }),
      }),
    }),
  })
  .openapi('ReleaseInProgress');

export const createDeployment = createRoute({
  method: 'post',
  path: '/api/v1/deployments',
  tags,
  operationId: 'createDeployment',
  summary: 'Start a release of an application version',
  description:
    'Creates the deployment and starts its release workflow. One release per application runs at a time (409).',
  request: { body: { required: true, content: json(CreateDeployment) } },
  responses: withJsonBodyErrors({
    202: {
      description: 'Started; follow it with GET /api/v1/deployments/{id}',
      content: json(DeploymentView),
      links: deploymentLinks('$response.body#/id'),
    },
    404: errorResponses[404],
    409: {
      description:
        'A release of the application is in progress: `error.details.deployment_id` names it (follow or cancel it, then retry)',
      content: json(ReleaseInProgress),
      links: deploymentLinks('$response.body#/error/details/deployment_id'),
    },
    503: {
      ...errorResponses[503],
      description:
        'Temporal or the database is unavailable, or the release slot changed hands while this request waited and no release holds it now (the message says which): nothing was started; try again',
    },
  }),
});

export const listDeployments = createRoute({
  method: 'get',
  path: '/api/v1/deployments',
  tags,
  operationId: 'listDeployments',
  summary: 'List deployments, newest first',
  request: {
    query: z.object({
      app_id: z.string().min(1).optional(),
      limit: z.coerce.number().int().min(1).max(500).optional(),
    }),
  },
  responses: {
    200: {
      description: 'Deployments',
      content: json(z.object({ items: z.array(Deployment) })),
      links: {
        getDeployment: link('getDeployment', 'The newest deployment listed', {
          id: '$response.body#/items/0/id',
        }),
      },
    },
    400: errorResponses[400],
  },
});

export const getDeployment = createRoute({
  method: 'get',
  path: '/api/v1/deployments/{id}',
  tags,
  operationId: 'getDeployment',
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

export const releaseActions = [
  'pause',
  'resume',
  'approve',
  'promote',
  'rollback',
  'cancel',
] as const;
export type ReleaseAction = (typeof releaseActions)[number];

/** What each action does, and when it is refused (409). */
const actionTexts: Record<
  ReleaseAction,
  { operationId: OperationId; summary: string; description: string }
> = {
  pause: {
    operationId: 'pauseDeployment',
    summary: 'Pause a running release',
    description:
      'The release stops before its next step and waits until resumed. Refused with 409 when it is paused already, rolling back or ended.',
  },
  resume: {
    operationId: 'resumeDeployment',
    summary: 'Resume a paused release',
    description: 'Refused with 409 when the release is not paused, is rolling back or ended.',
  },
  approve: {
    operationId: 'approveDeployment',
    summary: 'Approve the next batch of a release that waits for approval',
    description:
      'Refused with 409 when the release is not waiting for approval, is rolling back or ended.',
  },
  promote: {
    operationId: 'promoteDeployment',
    summary: 'End the wait a release is in',
    description:
      '`promote` ends the wait the release is in (the gray bake, an interval, the wait for the ' +
      "metric guard's judgement, or the verification window after the last batch); it is " +
      'refused with 409 when the release is not waiting, is rolling back or ended.',
  },
  rollback: {
    operationId: 'rollbackDeployment',
    summary: 'Roll a running release back to the version before it',
    description:
      "Every machine the release changed goes back to the version it ran before, and (with the policy's `ai_analysis`) an analysis of the release starts. Refused with 409 when it is rolling back already or ended.",
  },
  cancel: {
    operationId: 'cancelDeployment',
    summary: 'Cancel a running release',
    description:
      'The release stops rolling forward and ends `cancelled`; machines it updated keep the new version (roll back to undo them). Refused with 409 when it is rolling back or ended.',
  },
};

/** POST /api/v1/deployments/{id}/<action>: one operation per action, each with its own id. */
export function deploymentActionRoute(action: ReleaseAction) {
  const texts = actionTexts[action];
  return createRoute({
    method: 'post',
    path: `/api/v1/deployments/{id}/${action}`,
    tags,
    operationId: texts.operationId,
    summary: texts.summary,
    description: texts.description,
    request: {
      params: IdParam,
      body: { required: false, content: json(ReleaseActionBody) },
    },
    responses: withJsonBodyErrors({
      202: {
        description: 'Sent to the release',
        content: json(DeploymentView),
        links: deploymentLinks('$response.body#/id'),
      },
      404: errorResponses[404],
      409: errorResponses[409],
      503: errorResponses[503],
    }),
  });
}
export type DeploymentActionRoute = ReturnType<typeof deploymentActionRoute>;

export const getAnalysis = createRoute({
  method: 'get',
  path: '/api/v1/deployments/{id}/analysis',
  tags,
  operationId: 'getAnalysis',
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

export const GuardEvaluations = z
  .object({
    deployment_id: z.string(),
    /** Oldest first. A value of ±Inf is stored without `value` (see withFiniteNumbers). */
    items: z.array(GuardEvaluationRecord.openapi('GuardEvaluation')),
  })
  .openapi('GuardEvaluations');

export const getGuardEvaluations = createRoute({
  method: 'get',
  path: '/api/v1/deployments/{id}/guard',
  tags,
  operationId: 'getGuardEvaluations',
  summary: "The metric guard's evaluations of a release over time",
  description: `Each evaluation of the rollback policy: when, the worst verdict, and each rule's value, threshold and verdict. The newest \`limit\` (at most ${guardEvaluationsKept}, as many as are kept), oldest first; empty before the guard has run.`,
  request: {
    params: IdParam,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(guardEvaluationsKept).default(500),
    }),
  },
  responses: {
    200: { description: 'The evaluations', content: json(GuardEvaluations) },
    400: errorResponses[400],
    404: errorResponses[404],
  },
});

const TimeWindow = z.object({ from: z.number().int(), to: z.number().int() });

/** A moment of the release on the charts (domain/release-timeline.ts releaseMarkers). */
const ReleaseMarkerSchema = z.object({
  kind: z.enum([
    'start',
    'gray_deployed',
    'batch',
    'breach',
    'rollback_begun',
    'rollback_done',
    'succeeded',
    'failed',
    'cancelled',
  ]),
  /** Epoch ms. */
  at: z.number().int(),
  label: z.string(),
  /** For `batch`: which one (1 is the first after the gray machine). */
  batch: z.number().int().optional(),
}) satisfies z.ZodType<ReleaseMarker>;

export const AnalysisSeries = z
  .object({
    deployment_id: z.string(),
    /** The baseline window's start to the release window's end (epoch ms). */
    from: z.number().int(),
    to: z.number().int(),
    step_seconds: z.number().int(),
    /**
     * Before the release started: as long as the report's baseline and at least 10 minutes
     * (epoch ms; `to` is the release's start).
     */
    baseline_window: TimeWindow,
    /** From the release's start until it ended (its rollback done), plus a margin. */
    release_window: TimeWindow,
    /** What happened to the release, oldest first: start, gray deployed, breach, rollback... */
    markers: z.array(ReleaseMarkerSchema),
    /** One per anomalous metric of the report, in its order. */
    items: z.array(
      z.object({
        name: z.string(),
        /** The report's query as written: it pins its time (`@`), and gives the reported number. */
        promql: z.string(),
        /** The query charted: `promql` without its `@` modifiers, evaluated at each step. */
        chart_promql: z.string(),
        /** The modifiers taken out for the chart, as written (`@ 1700000000`, `@ end()`). */
        unpinned: z.array(z.string()),
        /** Why `promql` is charted as given: it does not parse as PromQL. */
        unpin_error: z.string().optional(),
        series: z.array(MetricSeries),
        /** Why Prometheus refused this query (bad PromQL in the report, say). */
        error: z.string().optional(),
      }),
    ),
  })
  .openapi('AnalysisSeries');

export const getAnalysisSeries = createRoute({
  method: 'get',
  path: '/api/v1/deployments/{id}/analysis/series',
  tags,
  operationId: 'getAnalysisSeries',
  summary: "The analysis report's anomalous metrics as series, for charts",
  description:
    "Each anomalous metric of the report evaluated as a range query from the baseline window (before the release started) through the release window (until its rollback was done, plus a margin), with the release's markers. The report's queries pin their evaluation time (`@`) so that they reproduce its numbers; charted as written they would be one flat value, so each is charted without its `@` modifiers (`chart_promql`; `offset` stays) and `promql` is returned as written. A query that does not parse is charted as given, with `unpin_error`; a query Prometheus refuses has its `error`; Prometheus down is 503; 404 until the report exists.",
  request: { params: IdParam },
  responses: {
    200: { description: 'The series', content: json(AnalysisSeries) },
    404: errorResponses[404],
    503: {
      description: 'Prometheus is down, or this api has none configured',
      content: errorResponses[503].content,
    },
  },
});
