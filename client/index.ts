/**
 * relguard's REST api as a typed TypeScript client, for the CLI, the console and other teams'
 * tools. The types are generated from the api's own OpenAPI document (client/openapi.json,
 * client/schema.ts: `npm run generate:client`), so a route that changes under a caller fails
 * its type check instead of its release.
 *
 *   const relguard = createRelguardClient({ baseUrl: 'https://relguard.example.com', token });
 *   const { data, error } = await relguard.GET('/api/v1/deployments/{id}', {
 *     params: { path: { id } },
 *   });
 *
 * It is openapi-fetch's client (https://openapi-ts.dev/openapi-fetch/): GET, POST, PUT and
 * DELETE take the path as the document writes it, with its parameters and body checked against
 * it, and resolve to `{ data }` on a success, `{ error }` (the api's error envelope) otherwise,
 * with the `response` beside. Runs anywhere fetch does (Node 20, browsers, Deno, Bun); no other
 * dependency.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, operations, paths } from './schema';

export interface RelguardClientOptions {
  /**
   * Where the api is: its origin (`https://relguard.example.com`, `http://127.0.0.1:3000`),
   * without `/api/v1` (the paths carry it). `''` in a page served by the api itself.
   */
  baseUrl: string;
  /**
   * An api token (`rg_…`; `relguard token create`), sent as `Authorization: Bearer`; or a
   * function asked at each request, for a token that changes. Unset or undefined: no header
   * (only /healthz and the webhooks answer without one). A request that sets its own
   * `authorization` header keeps it.
   */
  token?: string | (() => string | undefined);
  /** Sends a request: a test's fake, a transport with timeouts or a proxy. Default: fetch. */
  fetch?: (request: Request) => Promise<Response>;
}

/** The client's type: a parameter or a field of something that calls the api. */
export type RelguardClient = Client<paths, 'application/json'>;

export function createRelguardClient(options: RelguardClientOptions): RelguardClient {
  const client = createClient<paths, 'application/json'>({
    baseUrl: options.baseUrl,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  client.use(bearerToken(options.token));
  return client;
}

function bearerToken(token: RelguardClientOptions['token']): Middleware {
  return {
    onRequest({ request }) {
      const value = typeof token === 'function' ? token() : token;
      if (value !== undefined && !request.headers.has('authorization')) {
        request.headers.set('authorization', `Bearer ${value}`);
      }
      return request;
    },
  };
}

type Schemas = components['schemas'];

/** The api's error envelope: `{ error: { code, message, details } }`, on every 4xx and 5xx. */
export type ErrorEnvelope = Schemas['Error'];
/** An application as the api answers it: its settings, machines and their health. */
export type Application = Schemas['Application'];
/** The body of POST /api/v1/applications. */
export type ApplicationInput = Schemas['ApplicationInput'];
/** The body of PUT /api/v1/applications/{id}: the fields to change. */
export type ApplicationUpdate = Schemas['ApplicationUpdate'];
/** One change of a machine's status (GET /api/v1/applications/{id}/machine-events). */
export type MachineEvent = Schemas['MachineEvent'];
/** An application's request rate, errors and latency by version or machine, with releases. */
export type ApplicationMetrics = Schemas['ApplicationMetrics'];
export type RedMetric = Schemas['RedMetric'];
/** A range query's series: epoch ms and values side by side; null is a gap. */
export type MetricSeries = Schemas['MetricSeries'];
export type ReleaseChartEvent = Schemas['ReleaseChartEvent'];
/** A release (a deployment): its record, where its workflow is, and its live progress. */
export type Deployment = Schemas['Deployment'];
/** A deployment as GET /api/v1/deployments lists it: the record, without its workflow. */
export type DeploymentRecord =
  paths['/api/v1/deployments']['get']['responses'][200]['content']['application/json']['items'][number];
/** The body of POST /api/v1/deployments: a release to start. */
export type CreateDeployment = Schemas['CreateDeployment'];
/** What a running release is doing now (`Deployment.progress`). */
export type ReleaseProgress = Schemas['ReleaseProgress'];
/** The body of a release action (POST /api/v1/deployments/{id}/pause, …/rollback, …): why, and for whom. */
export type ReleaseAction = Schemas['ReleaseAction'];
/** The root-cause report of a rolled-back or alerting release. */
export type AnalysisReport = Schemas['AnalysisReport'];
/** The report's anomalous metrics as series, for charts. */
export type AnalysisSeries = Schemas['AnalysisSeries'];
/** The metric guard's evaluations of a release. */
export type GuardEvaluations = Schemas['GuardEvaluations'];
export type GuardEvaluation = Schemas['GuardEvaluation'];
/** A stored package: a version's .tar.gz, its checksums and where it is. */
export type Package = Schemas['Package'];
/** The body of POST /api/v1/packages: a package to build from a git tag. */
export type CreatePackage = Schemas['CreatePackage'];
/** An api token as listed: never its secret. */
export type ApiToken = Schemas['ApiToken'];
/** The body of POST /api/v1/tokens. */
export type NewApiToken = Schemas['NewApiToken'];
/** The answer of POST /api/v1/tokens: the token with its secret, shown this once. */
export type CreatedApiToken = Schemas['CreatedApiToken'];
/** Who a token is (GET /api/v1/whoami). */
export type Whoami = Schemas['Whoami'];
/** An alert channel as listed: its type and host, never its URL's secrets. */
export type NotifyChannelView = Schemas['NotifyChannelView'];
/** The body of PUT /api/v1/channels/{name}. */
export type NotifyChannel = Schemas['NotifyChannel'];
