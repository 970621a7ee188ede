import { createRoute, z } from '@hono/zod-openapi';
import { ApiToken, AuditEntry, NewApiToken, Role } from '../../domain';
import { errorResponses, withJsonBodyErrors, link } from '../responses';
import { IdParam, json } from '../route-parts';

const ApiTokenSchema = ApiToken.openapi('ApiToken');

export const createToken = createRoute({
  method: 'post',
  path: '/api/v1/tokens',
  tags: ['tokens'],
  operationId: 'createToken',
  summary: 'Create an api token (its secret is shown this once)',
  request: { body: { required: true, content: json(NewApiToken.openapi('NewApiToken')) } },
  responses: withJsonBodyErrors({
    201: {
      description: 'Created; `token` is the secret, never shown again',
      content: json(ApiToken.extend({ token: z.string() }).openapi('CreatedApiToken')),
      links: {
        revokeToken: link('revokeToken', 'Revoke this token', { id: '$response.body#/id' }),
      },
    },
  }),
});

export const listTokens = createRoute({
  method: 'get',
  path: '/api/v1/tokens',
  tags: ['tokens'],
  operationId: 'listTokens',
  summary:
    'List api tokens (names, roles, creation, last use to the minute, expiry; never secrets)',
  responses: {
    200: { description: 'Tokens', content: json(z.object({ items: z.array(ApiTokenSchema) })) },
  },
});

export const revokeToken = createRoute({
  method: 'delete',
  path: '/api/v1/tokens/{id}',
  tags: ['tokens'],
  operationId: 'revokeToken',
  summary: 'Revoke an api token',
  request: { params: IdParam },
  responses: {
    204: { description: 'Revoked' },
    404: errorResponses[404],
  },
});

export const listAudit = createRoute({
  method: 'get',
  path: '/api/v1/audit',
  tags: ['tokens'],
  operationId: 'listAudit',
  summary: 'Writes made through the api, newest first',
  request: {
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
  },
  responses: {
    200: {
      description: 'Audit entries',
      content: json(z.object({ items: z.array(AuditEntry.openapi('AuditEntry')) })),
    },
    400: errorResponses[400],
  },
});

export const Whoami = z.object({ name: z.string(), role: Role }).openapi('Whoami');

export const whoami = createRoute({
  method: 'get',
  path: '/api/v1/whoami',
  tags: ['tokens'],
  operationId: 'whoami',
  summary: 'Who the bearer token is: its name and role (any role may ask)',
  responses: {
    200: { description: "The token's name and role", content: json(Whoami) },
  },
});
