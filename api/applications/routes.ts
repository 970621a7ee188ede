import { createRoute, z } from '@hono/zod-openapi';
import { Application, ApplicationInput, ApplicationUpdate } from '../../domain';
import { MetricSeries } from '../prometheus-series';
import { errorResponses } from '../responses';
import { IdParam, json } from '../route-parts';

const tags = ['applications'];

const ApplicationSchema = Application.openapi('Application');

export const createApplication = createRoute({
  method: 'post',
  path: '/api/v1/applications',
  tags,
  summary: 'Create an application',
  request: {
    body: {
      required: true,
      content: json(ApplicationInput.openapi('ApplicationInput')),
    },
  },
  responses: {
    201: { description: 'Created', content: json(ApplicationSchema) },
    400: errorResponses[400],
    409: errorResponses[409],
    422: errorResponses[422],
  },
});

export const listApplications = createRoute({
  method: 'get',
  path: '/api/v1/applications',
  tags,
  summary: 'List applications by name',
  responses: {
    200: {
      description: 'Applications',
      content: json(z.object({ items: z.array(ApplicationSchema) })),
    },
  },
});

export const getApplication = createRoute({
  method: 'get',
  path: '/api/v1/applications/{id}',
  tags,
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
  summary: 'Update an application',
  description: 'Sets the fields given; fields left out keep their value.',
  request: {
    params: IdParam,
    body: {
      required: true,
      content: json(ApplicationUpdate.openapi('ApplicationUpdate')),
    },
  },
  responses: {
    200: { description: 'The updated application', content: json(ApplicationSchema) },
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
    422: errorResponses[422],
  },
});

export const deleteApplication = createRoute({
  method: 'delete',
  path: '/api/v1/applications/{id}',
  tags,
  summary: 'Delete an application',
  description: 'Refused with 409 while a release of the application is running.',
  request: { params: IdParam },
  responses: {
    204: { description: 'Deleted' },
    404: errorResponses[404],
    409: errorResponses[409],
  },
});

const RedMetricName = z.enum(['rate', 'errors', 'latency']);

export const RedMetric = z
  .object({
    metric: RedMetricName,
    /** `req/s` for rate and errors, `s` for latency. */
    unit: z.string(),
    /** The application's template rendered once per version shown. */
    queries: z.array(z.object({ version: z.string(), promql: z.string() })),
    /** Each series has a `version` label; none at all when Prometheus has no data. */
    series: z.array(MetricSeries),
  })
  .openapi('RedMetric');

export const ApplicationMetrics = z
  .object({
    app_id: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    step_seconds: z.number().int(),
    metrics: z.array(RedMetric),
  })
  .openapi('ApplicationMetrics');

export const getApplicationMetrics = createRoute({
  method: 'get',
  path: '/api/v1/applications/{id}/metrics',
  tags,
  summary: "The application's RED metrics over the last minutes, from Prometheus",
  description:
    "Range queries of the application's `red_metrics_config` (rate, errors, latency), once per version its machines run (and its current and previous version), with `{{instances}}` its machines. No data is an empty `series`; Prometheus down is 503.",
  request: {
    params: IdParam,
    query: z.object({ minutes: z.coerce.number().int().min(1).max(1440).default(60) }),
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
