import { createRoute, z } from '@hono/zod-openapi';
import { Application, ApplicationInput, ApplicationUpdate } from '../../domain';
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
