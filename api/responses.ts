import { ErrorEnvelope } from './errors';

const errorContent = { 'application/json': { schema: ErrorEnvelope } };

/** Declared error responses, so /openapi.json documents every status a route answers. */
export const errorResponses = {
  400: { description: 'Malformed request (bad JSON or parameters)', content: errorContent },
  401: { description: 'No valid bearer token', content: errorContent },
  403: { description: "The token's role does not allow this", content: errorContent },
  404: { description: 'Not found', content: errorContent },
  409: { description: 'Conflict with the current state', content: errorContent },
  422: {
    description: 'The body does not fit the schema; details name the fields',
    content: errorContent,
  },
  503: { description: 'A dependency (Temporal or MongoDB) is unavailable', content: errorContent },
} as const;
