import { createRoute, z } from '@hono/zod-openapi';
import { Application, ApplicationInput, ApplicationUpdate } from '../../domain';
import { MetricSeries } from '../prometheus-series';
import { errorResponses, withJsonBodyErrors, link } from '../responses';
import { IdParam, json } from '../route-parts';

const tags = ['applications'];

/** Every application in an answer is redacted (domain/application-redaction.ts). */
const ApplicationSchema = Application.extend({
  redacted: z
    .array(z.string())
    .optional()
    .openapi({
      description:
        'The paths of the values this answer masks (`repo`, `start_cmd`, `machines.0.ssh.key_path`). A masked value is `***`, or `***` in place of the credentials of a URL (`https://***@github.com/o/r.git`): credentials in `repo` are masked for every role, admin included; commands (`start_cmd`, `stop_cmd`, `build_cmd`) and SSH key paths for every role below admin. A PUT or POST that sends a mask back keeps the stored value; a mask that stands for no stored value is refused (422).',
      example: ['repo', 'start_cmd', 'machines.0.ssh.key_path'],
    }),
}).openapi('Application', {
  description:
    "An application, redacted for the caller's role: secrets are never returned, `redacted` names what is masked.",
});

/** Links from a response whose body is an application to what can be asked of it. */
const applicationLinks = {
  getApplication: link('getApplication', 'The application', { id: '$response.body#/id' }),
  updateApplication: link('updateApplication', 'Change the application', {
    id: '$response.body#/id',
  }),
  deleteApplication: link('deleteApplication', 'Delete the application', {
    id: '$response.body#/id',
  }),
  getApplicationMetrics: link('getApplicationMetrics', 'Its RED metrics', {
    id: '$response.body#/id',
  }),
  listMachineEvents: link('listMachineEvents', "Its machines' history", {
    id: '$response.body#/id',
  }),
  listPackages: link('listPackages', 'Its packages', { id: '$response.body#/id' }),
  uploadPackage: link('uploadPackage', 'Upload a package of it', { id: '$response.body#/id' }),
  createPackage: link(
    'createPackage',
    'Build a package of it',
    {},
    { app_id: '$response.body#/id' },
  ),
  // No gray_machine_id: an application may have no machines yet, and the release picks its
  // first one by default.
  createDeployment: link(
    'createDeployment',
    'Release a version of it',
    {},
    { app_id: '$response.body#/id' },
  ),
};

export const createApplication = createRoute({
  method: 'post',
  path: '/api/v1/applications',
  tags,
  operationId: 'createApplication',
  summary: 'Create an application',
  request: {
    body: {
      required: true,
      content: json(ApplicationInput.openapi('ApplicationInput')),
    },
  },
  responses: withJsonBodyErrors({
    201: { description: 'Created', content: json(ApplicationSchema), links: applicationLinks },
    409: errorResponses[409],
  }),
});

export const listApplications = createRoute({
  method: 'get',
  path: '/api/v1/applications',
  tags,
  operationId: 'listApplications',
  summary: 'List applications by name',
  responses: {
    200: {
      description: 'Applications',
      content: json(z.object({ items: z.array(ApplicationSchema) })),
      links: {
        getApplication: link('getApplication', 'The first application listed', {
          id: '$response.body#/items/0/id',
        }),
      },
    },
  },
});

export const getApplication = createRoute({
  method: 'get',
  path: '/api/v1/applications/{id}',
  tags,
  operationId: 'getApplication',
  summary: 'Get an application',
  request: { params: IdParam },
  responses: {
    200: { description: 'The application', content: json(ApplicationSchema) },
    404: errorResponses[404],
  },
});

export const updateApplication = createRoute({
  method: 'put',
  path: '/api/v1/applications/{id}',
  tags,
  operationId: 'updateApplication',
  summary: 'Update an application',
  description: 'Sets the fields given; fields left out keep their value.',
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(ApplicationUpdate.openapi('ApplicationUpdate')),
    },
  },
  responses: withJsonBodyErrors({
    200: {
      description: 'The updated application',
      content: json(ApplicationSchema),
      links: applicationLinks,
    },
    404: errorResponses[404],
    409: errorResponses[409],
  }),
});

export const DeleteApplicationQuery = z.object({
  machines: z.enum(['stop', 'keep']).optional().openapi({
    description:
      'What to do with machines that run a version relguard deployed: `stop` them through their platform, or `keep` them running (unwatched). Required when there are any.',
  }),
});

const DeletedApplication = z
  .object({
    id: z.string(),
    name: z.string(),
    machines: z.enum(['stopped', 'kept']),
    /** The machines stopped (`stop`) or left running (`keep`), with the version each ran. */
    affected: z.array(
      z.object({ machine_id: z.string(), host: z.string(), port: z.number(), version: z.string() }),
    ),
  })
  .openapi('DeletedApplication');

export const deleteApplication = createRoute({
  method: 'delete',
  path: '/api/v1/applications/{id}',
  tags,
  operationId: 'deleteApplication',
  summary: 'Delete an application',
  description:
    'Refused with 409 while a release of the application runs, and while machines run a version relguard deployed unless `machines` says what to do with them (the 409 names them). Its health watcher ends; its deployments, reports and machine history stay readable.',
  request: { params: IdParam, query: DeleteApplicationQuery },
  responses: {
    200: {
      description: 'Deleted; says which machines were stopped or left running',
      content: json(DeletedApplication),
    },
    204: { description: 'Deleted; no machine ran a version relguard deployed' },
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
    503: {
      description: 'Temporal is down, or a machine could not be stopped: nothing was deleted',
      content: errorResponses[503].content,
    },
  },
});

export const MachineEvent = z
  .object({
    id: z.string(),
    app_id: z.string(),
    machine_id: z.string(),
    status: z.enum(['healthy', 'error', 'alert', 'unknown']),
    reason: z.string(),
    version: z.string(),
    at: z.number().int(),
  })
  .openapi('MachineEvent');

export const listMachineEvents = createRoute({
  method: 'get',
  path: '/api/v1/applications/{id}/machine-events',
  tags,
  operationId: 'listMachineEvents',
  summary: "The history of the application's machine statuses, newest first",
  description:
    "Each change of a machine's status (healthy, error, alert, unknown) with why, the version it ran and when, as the health watcher and releases saw it. Readable after the application is deleted.",
  request: {
    params: IdParam,
    query: z.object({
      machine: z.string().min(1).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(200),
    }),
  },
  responses: {
    200: { description: 'The events', content: json(z.object({ items: z.array(MachineEvent) })) },
    400: errorResponses[400],
  },
});

const RedMetricName = z.enum(['rate', 'errors', 'latency']);

export const RedMetric = z
  .object({
    metric: RedMetricName,
    /** `req/s` for rate and errors, `s` for latency. */
    unit: z.string(),
    /** The application's template rendered once per version shown (per machine: per pair). */
    queries: z.array(
      z.object({ version: z.string(), machine: z.string().optional(), promql: z.string() }),
    ),
    /**
     * Each series has a `version` label (and `machine` per machine); none for a version without
     * samples. Errors are 0, not absent, where the version had traffic and no 5xx.
     */
    series: z.array(MetricSeries),
  })
  .openapi('RedMetric');

export const ReleaseChartEvent = z
  .object({
    at: z.number().int(),
    kind: z.string().openapi({
      description:
        'start, gray_deployed, batch, breach, rollback_begun, rollback_done, succeeded, failed or cancelled',
    }),
    label: z.string(),
    batch: z.number().int().optional(),
    deployment_id: z.string(),
    /** The version the deployment released. */
    version: z.string(),
    /** The console path of the release's page. */
    href: z.string(),
  })
  .openapi('ReleaseChartEvent');

export const ApplicationMetrics = z
  .object({
    app_id: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    step_seconds: z.number().int(),
    by: z.enum(['version', 'machine']),
    /** The versions charted: every one that served in the window, newest first (at most 8). */
    versions: z.array(z.string()),
    /** Versions that served in the window but are not charted (beyond the 8 newest). */
    versions_left_out: z.array(z.string()),
    /** What the charts cannot show as asked, in words (versions left out, a template without {{instances}} per machine). */
    notes: z.array(z.string()),
    metrics: z.array(RedMetric),
    /** The release events of the window, oldest first, for markers. */
    events: z.array(ReleaseChartEvent),
  })
  .openapi('ApplicationMetrics');

export const getApplicationMetrics = createRoute({
  method: 'get',
  path: '/api/v1/applications/{id}/metrics',
  tags,
  operationId: 'getApplicationMetrics',
  summary:
    "The application's RED metrics over the last minutes, from Prometheus, with its release events",
  description:
    "Range queries of the application's `red_metrics_config` (rate, errors, latency), once per version that served in the window (what its machines run, its current version, and each deployment's version and the one it replaced, for the deployments whose life overlaps the window; the 8 newest), with `{{instances}}` its machines, or with `by=machine` once per version and machine with `{{instances}}` that one machine. Errors are 0 where a version had traffic and no 5xx; a version without traffic has no series. `events` are the window's release events (start, gray deployed, each batch, breach, rollback begun and done, the end) linking to the release. Prometheus down is 503.",
  request: {
    params: IdParam,
    query: z.object({
      minutes: z.coerce.number().int().min(1).max(1440).default(60),
      by: z.enum(['version', 'machine']).default('version'),
    }),
  },
  responses: {
    200: { description: 'The series', content: json(ApplicationMetrics) },
    400: errorResponses[400],
    404: errorResponses[404],
    422: {
      description:
        "The application's RED templates cannot be rendered or are refused by Prometheus",
      content: errorResponses[422].content,
    },
    503: {
      description: 'Prometheus is down, or this api has none configured',
      content: errorResponses[503].content,
    },
  },
});
