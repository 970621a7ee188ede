import { ErrorEnvelope } from './errors';

const errorContent = { 'application/json': { schema: ErrorEnvelope } };

/**
 * Declared error responses, so /openapi.json documents every status a route answers. What the
 * middleware in front of the handlers answers (the bearer token's 401 and 403, the database's
 * 503 when a token cannot be checked, the write rate limit's 429, the body limit's 413, the 400
 * of a malformed percent-encoding) api/docs.ts adds to every operation it applies to.
 */
export const errorResponses = {
  400: {
    description:
      'Malformed request: bad JSON, bad path or query parameters (the message names them), or a path or query that is not valid percent-encoding',
    content: errorContent,
  },
  404: { description: 'Not found', content: errorContent },
  409: { description: 'Conflict with the current state', content: errorContent },
  413: { description: 'The body is larger than the api accepts', content: errorContent },
  415: {
    description:
      'The request has a body whose Content-Type is not one the operation takes (`application/json`), or a body without one',
    content: errorContent,
  },
  422: {
    description:
      'The body does not fit the schema or breaks a rule of the server; `error.details` names the fields (`[{ field, message }]`, e.g. `machines.0.port`)',
    content: errorContent,
  },
  503: { description: 'A dependency (Temporal or MongoDB) is unavailable', content: errorContent },
} as const;

/**
 * What a route with a JSON body answers besides its own: malformed JSON (400), a body of
 * another Content-Type (415, @hono/zod-openapi's check before the body is read) and a body
 * that does not fit its schema (422, naming the fields).
 */
const jsonBodyResponses = {
  400: errorResponses[400],
  415: errorResponses[415],
  422: errorResponses[422],
} as const;

/**
 * `responses` and the 400, 415 and 422 of a JSON body (as an intersection: a spread would
 * turn the status codes into strings, and the handlers' types would lose them).
 */
export function withJsonBodyErrors<R extends object>(responses: R): R & typeof jsonBodyResponses {
  return { ...responses, ...jsonBodyResponses };
}

/**
 * The operations of the document by their operationId. Each is stable: generated clients name
 * their methods after it, and a link (below) names its target by it.
 */
export const operationIds = [
  'getHealth',
  'createApplication',
  'listApplications',
  'getApplication',
  'updateApplication',
  'deleteApplication',
  'getApplicationMetrics',
  'listMachineEvents',
  'createDeployment',
  'listDeployments',
  'getDeployment',
  'getAnalysis',
  'getAnalysisSeries',
  'getGuardEvaluations',
  'pauseDeployment',
  'resumeDeployment',
  'approveDeployment',
  'promoteDeployment',
  'rollbackDeployment',
  'cancelDeployment',
  'createPackage',
  'listPackages',
  'uploadPackage',
  'downloadPackage',
  'createToken',
  'listTokens',
  'revokeToken',
  'listAudit',
  'whoami',
  'listChannels',
  'putChannel',
  'deleteChannel',
  'receiveAlertmanagerWebhook',
  'receiveGithubWebhook',
] as const;
export type OperationId = (typeof operationIds)[number];

/** An OpenAPI Link Object naming its target by operationId. */
export interface LinkObject {
  operationId: OperationId;
  description: string;
  parameters?: Record<string, string>;
  requestBody?: Record<string, string>;
}

/**
 * An OpenAPI link from a response to the operation `operationId`: `parameters` by name, each a
 * runtime expression (`$response.body#/id`); `requestBody` an object whose values are (a
 * schemathesis extension, merged into the body it generates). Clients and schemathesis'
 * stateful phase follow them.
 */
export function link(
  operationId: OperationId,
  description: string,
  parameters: Record<string, string>,
  requestBody?: Record<string, string>,
): LinkObject {
  return {
    operationId,
    description,
    ...(Object.keys(parameters).length === 0 ? {} : { parameters }),
    ...(requestBody === undefined ? {} : { requestBody }),
  };
}

/** Links from a response whose body is a deployment (`id`) to what can be asked of it. */
export function deploymentLinks(idExpression: string): Record<string, LinkObject> {
  const id = { id: idExpression };
  return {
    getDeployment: link('getDeployment', 'The deployment and its live progress', id),
    getGuardEvaluations: link('getGuardEvaluations', "The guard's evaluations", id),
    getAnalysis: link('getAnalysis', 'Its root-cause report, once written', id),
    getAnalysisSeries: link('getAnalysisSeries', "The report's metrics as series", id),
    pauseDeployment: link('pauseDeployment', 'Pause the release', id),
    resumeDeployment: link('resumeDeployment', 'Resume the release', id),
    approveDeployment: link('approveDeployment', 'Approve the next batch', id),
    promoteDeployment: link('promoteDeployment', 'End the wait the release is in', id),
    rollbackDeployment: link('rollbackDeployment', 'Roll the release back', id),
    cancelDeployment: link('cancelDeployment', 'Cancel the release', id),
  };
}
