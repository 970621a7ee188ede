import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Client } from '@temporalio/client';
import { consolePublicUrl, loadConfig } from '../domain/config';
import { ensureIndexes, openStore, storeEnvChannels } from '../activities/db';
import { createLogger } from '../activities/logger';
import packageJson from '../package.json' with { type: 'json' };
import { PrometheusClient, prometheusOptions } from '../activities/metrics';
import { createPackageStore } from '../activities/package-store';
import { createApp } from './app';
import { keepHealthWatchers } from './health-watchers';
import { temporalReleases } from './releases';
import { connectTemporal } from './temporal';

const config = loadConfig(process.env);
const logger = createLogger('api', config.LOG_LEVEL);

const store = openStore({
  uri: config.MONGODB_URI,
  dbName: config.MONGODB_DB,
  timeoutMs: config.MONGODB_TIMEOUT_MS,
});
// A MongoDB outage must not keep the api (and its /healthz) from starting, but the unique
// indexes guard against duplicate names: keep trying until they exist (and the channels of
// NOTIFY_CHANNELS are stored).
async function makeIndexes(): Promise<void> {
  for (;;) {
    try {
      await ensureIndexes(store);
      // Applications are checked against the channel store: this api's NOTIFY_CHANNELS are in it.
      await storeEnvChannels(store.notifyChannels, config.NOTIFY_CHANNELS, logger);
      return;
    } catch (error) {
      logger.warn({ err: error }, 'could not create MongoDB indexes yet; retrying in 5 s');
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }
}
void makeIndexes();
const temporal = connectTemporal(config, { timeoutMs: 3000, logger });
// A TLS or API-key mistake is in the log at start-up, not at the first release.
void temporal.health.check();
const releases = temporalReleases({
  client: new Client({ connection: temporal.connection, namespace: config.TEMPORAL_NAMESPACE }),
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  namespace: config.TEMPORAL_NAMESPACE,
  uiUrl: config.TEMPORAL_UI_URL,
  // Linked from each release's static details in the Temporal UI.
  links: {
    consoleUrl: consolePublicUrl(config),
    apiUrl: config.API_PUBLIC_URL,
  },
});

// The console's charts, within PROMETHEUS_TIMEOUT_SECONDS: past it, a 503 that names the query.
const prometheus = new PrometheusClient(prometheusOptions(config));

const app = createApp({
  store,
  temporal: temporal.health,
  releases,
  logger,
  version: packageJson.version,
  // The OpenAPI document's server.
  publicUrl: config.API_PUBLIC_URL,
  alertLookbackMs: config.ALERT_ANALYSIS_LOOKBACK_SECONDS * 1000,
  alertLabels: { app: config.ALERT_APP_LABEL, instance: config.ALERT_INSTANCE_LABEL },
  packageStore: createPackageStore(
    { ...config, PACKAGE_DIR: path.resolve(config.PACKAGE_DIR) },
    { logger },
  ),
  maxPackageBytes: config.PACKAGE_UPLOAD_MAX_MB * 1024 * 1024,
  writeRateLimit: { perMinute: config.API_WRITE_RATE_PER_MINUTE },
  githubWebhookSecret: config.GITHUB_WEBHOOK_SECRET,
  prometheus,
  // The Markdown report links each chart on the console (CONSOLE_PUBLIC_URL or its default).
  consoleUrl: consolePublicUrl(config),
  envChannelNames: Object.keys(config.NOTIFY_CHANNELS),
  scrapeIntervalSeconds: config.PROMETHEUS_SCRAPE_INTERVAL_SECONDS,
  // The built console, beside the api's sources wherever the api is started from.
  consoleDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
});

const server = serve(
  { fetch: app.fetch, hostname: config.API_HOST, port: config.API_PORT },
  (info) => {
    logger.info({ url: `http://${info.address}:${info.port}` }, 'api listening');
  },
);

// Applications created while Temporal was down, or before watchers existed, get theirs.
const watchersStop = new AbortController();
void keepHealthWatchers({
  applications: store.applications,
  releases,
  logger,
  everyMs: 10 * 60_000,
  retryMs: 30_000,
  signal: watchersStop.signal,
});

let stopping = false;
function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  watchersStop.abort();
  logger.info({ signal }, 'api stopping');
  server.close(() => {
    void Promise.all([store.close(), temporal.connection.close()]).finally(() => {
      logger.info('api stopped');
    });
  });
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
