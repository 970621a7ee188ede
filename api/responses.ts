import { ErrorEnvelope } from './errors';

const errorContent = { 'application/json': { schema: ErrorEnvelope } };

/**
 * Declared error responses, so /openapi.json documents every status a route answers. The 401
 * and 403 of the bearer tokens and the body limit's 413 are the middleware's, and api/docs.ts
 * adds them to every operation they apply to.
 */
export const errorResponses = {
  400: { description: 'Malformed request (bad JSON or parameters)', content: errorContent },
  404: { description: 'Not found', content: errorContent },
  409: { description: 'Conflict with the current state', content: errorContent },
  422: {
    description: 'The body does not fit the schema; details name the fields',
    content: errorContent,
  },
  503: { description: 'A dependency (Temporal or MongoDB) is unavailable', content: errorContent },
} as const;
