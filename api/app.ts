import { OpenAPIHono } from '@hono/zod-openapi';
import type { PackageStore } from '../activities/package-store';
import { LocalPackageStore } from '../activities/package-store/local';
import { bodyLimit } from 'hono/body-limit';
import { except } from 'hono/combine';
import { applicationsApi } from './applications';
import { channelsApi } from './channels';
import { authentication } from './auth';
import { deploymentsApi } from './deployments';
import { packagesApi } from './packages';
import { mountMetrics } from './metrics';
import { mountPackageFiles } from './package-files';
import { writeRateLimit, type WriteRateLimitOptions } from './rate-limit';
import { wellFormedUrl } from './well-formed-url';
import type { ApiEnv, ApiVariables } from './context';
import { mountConsole } from './console';
import { mountDocs } from './docs';
import { errorBody, errorHandler, validationHook } from './errors';
import { healthApi } from './health';
import { isPackageUpload } from './route-parts';
import { methodNotAllowed } from './method-not-allowed';
import { tokensApi } from './tokens';
import { alertmanagerWebhook } from './webhooks/alertmanager';
import { githubWebhook } from './webhooks/github';

export interface ApiOptions extends Omit<ApiVariables, 'packageUploads' | 'scrapeIntervalSeconds'> {
  /** Prometheus' scrape interval for the machines (PROMETHEUS_SCRAPE_INTERVAL_SECONDS). Default 15. */
  scrapeIntervalSeconds?: number;
  /** The store uploaded packages go to: PUT /api/v1/applications/:id/packages/:version. */
  packageStore?: PackageStore;
  /** Largest package upload accepted, in bytes. Default 512 MiB. */
  maxPackageBytes?: number;
  version?: string;
  /** Writes one token may make per minute (API_WRITE_RATE_PER_MINUTE); unset or 0, no limit. */
  writeRateLimit?: WriteRateLimitOptions;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** How recent a release must be for an alert of its application to start its analysis. */
  alertLookbackMs?: number;
  /** The alert labels that name an application and its machine. Default `app`, `instance`. */
  alertLabels?: { app: string; instance: string };
  /** GitHub's webhook secret; without it the GitHub webhook refuses every delivery. */
  githubWebhookSecret?: string;
  /** The built web console (`npm run build:console`), served at /console/; unset, 503 there. */
  consoleDir?: string;
  /** The api as people reach it (API_PUBLIC_URL): /openapi.json's server. Unset, `/`. */
  publicUrl?: string;
}

/** The whole REST API over its dependencies; main.ts serves it, tests call app.request(). */
export function createApp(options: ApiOptions) {
  const { store, temporal, releases, logger, prometheus } = options;
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });

  const scrapeIntervalSeconds = options.scrapeIntervalSeconds ?? 15;
  const packageUploads = {
    ...(options.packageStore === undefined ? {} : { packageStore: options.packageStore }),
    maxPackageBytes: options.maxPackageBytes ?? 512 * 1024 * 1024,
  };
  app.use(wellFormedUrl());
  // Before the token and the body are looked at: an undeclared method is a 405 with Allow.
  app.use(methodNotAllowed(() => app.routes));
  app.use(async (c, next) => {
    c.set('store', store);
    c.set('temporal', temporal);
    c.set('releases', releases);
    c.set('logger', logger);
    if (prometheus !== undefined) c.set('prometheus', prometheus);
    if (options.consoleUrl !== undefined) c.set('consoleUrl', options.consoleUrl);
    if (options.envChannelNames !== undefined) c.set('envChannelNames', options.envChannelNames);
    c.set('packageUploads', packageUploads);
    c.set('scrapeIntervalSeconds', scrapeIntervalSeconds);
    if (options.releaseStartGraceMs !== undefined) {
      c.set('releaseStartGraceMs', options.releaseStartGraceMs);
    }
    await next();
  });
  const limitBody = bodyLimit({
    maxSize: options.maxBodyBytes ?? 1024 * 1024,
    onError: (c) =>
      c.json(errorBody('payload_too_large', 'request body is larger than the api accepts'), 413),
  });
  // A package upload streams to disk under its own, larger limit (api/packages/handlers.ts).
  app.use(
    '/api/*',
    except((c) => isPackageUpload(c.req.method, c.req.path), limitBody),
  );

  app.use('/api/*', authentication());
  app.use('/api/*', writeRateLimit(options.writeRateLimit ?? { perMinute: 0 }));

  app.route('/', healthApi);
  app.route('/', applicationsApi);
  app.route('/', deploymentsApi);
  app.route('/', packagesApi);
  app.route('/', tokensApi);
  app.route('/', channelsApi);
  app.route(
    '/',
    alertmanagerWebhook({
      lookbackMs: options.alertLookbackMs ?? 6 * 3600_000,
      labels: options.alertLabels ?? { app: 'app', instance: 'instance' },
    }),
  );
  app.route('/', githubWebhook({ secret: options.githubWebhookSecret }));
  // The local store's folder, served to the URLs it signs; other stores serve their own.
  if (options.packageStore instanceof LocalPackageStore) {
    mountPackageFiles(app, options.packageStore);
  }
  mountMetrics(app, store);
  mountDocs(app, {
    version: options.version ?? '0.0.0',
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
  });
  mountConsole(app, options.consoleDir);

  app.notFound((c) =>
    c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404),
  );
  app.onError(errorHandler(logger));
  return app;
}

export type RelguardApp = ReturnType<typeof createApp>;
