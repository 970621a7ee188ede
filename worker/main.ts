import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../domain/config';
import { createActivities } from '../activities';
import { ensureIndexes, openStore, storeEnvChannels } from '../activities/db';
import { createLogger } from '../activities/logger';
import { commandSettings, type CommandSettings } from '../activities/platform/command-env';
import {
  describeTemporalConnection,
  explainTemporalConnectionError,
  temporalConnectionOptions,
} from '../activities/temporal-connection';
import { activityDeps } from './activity-deps';
import { temporalLogger } from './temporal-logger';
import { untilReachable } from './until-reachable';
import { createWorker } from './worker';

const config = loadConfig(process.env);
const logger = createLogger('worker', config.LOG_LEVEL);

// The Runtime stops the worker gracefully on SIGINT and SIGTERM: running activities finish
// (or are cancelled at their heartbeat) before run() resolves.
Runtime.install({ logger: temporalLogger(logger), shutdownSignals: ['SIGINT', 'SIGTERM'] });

// Ends the waits for Temporal and MongoDB at start-up; once it runs, the Runtime stops it.
const stopping = new AbortController();
let running = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stopping.abort());

// The TLS files are read once, here: a bad one stops the worker with its variable named.
const temporalOptions = temporalConnectionOptions(config);
if (temporalOptions.tls === false && temporalOptions.apiKey !== undefined) {
  logger.warn(
    { temporal: config.TEMPORAL_ADDRESS },
    'TEMPORAL_API_KEY is sent without TLS (TEMPORAL_TLS=false): only to a proxy on a trusted network',
  );
}

// Application commands run as RELGUARD_RUN_AS: a worker that cannot switch to that user stops
// here, before it takes any work, rather than run them with its own rights.
let commands: CommandSettings;
try {
  commands = commandSettings(config);
} catch (error) {
  logger.fatal({ err: error }, `worker refused to start: ${(error as Error).message}`);
  process.exit(1);
}
if (commands.user !== undefined) {
  logger.info(
    { run_as: commands.user.name, uid: commands.user.uid, gid: commands.user.gid },
    'build_cmd, start_cmd and stop_cmd run as RELGUARD_RUN_AS',
  );
} else if (process.getuid?.() === 0) {
  logger.warn(
    "build_cmd, start_cmd and stop_cmd run as root, the worker's own user: they can read its files and /proc/<pid>/environ; set RELGUARD_RUN_AS to another user",
  );
}

const store = openStore({
  uri: config.MONGODB_URI,
  dbName: config.MONGODB_DB,
  timeoutMs: config.MONGODB_TIMEOUT_MS,
});

try {
  const waits = { logger, signal: stopping.signal };
  // connect() again after a failed try: the driver closes a client whose first connection failed.
  // NOTIFY_CHANNELS go to the channel store before the worker takes work: alerts read it.
  await untilReachable(
    'MongoDB',
    () =>
      store.client
        .connect()
        .then(() => ensureIndexes(store))
        .then(() => storeEnvChannels(store.notifyChannels, config.NOTIFY_CHANNELS, logger)),
    waits,
  );
  const connection = await untilReachable(
    `Temporal at ${config.TEMPORAL_ADDRESS}`,
    () =>
      NativeConnection.connect(temporalOptions).catch(async (error: unknown) => {
        // Says why (an untrusted server certificate, a refused client certificate...).
        throw await explainTemporalConnectionError(error, config, temporalOptions);
      }),
    waits,
  );
  try {
    const worker = await createWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      activities: createActivities(activityDeps(config, store, logger, commands)),
    });
    logger.info(
      {
        temporal: describeTemporalConnection(config),
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
      },
      'worker started',
    );
    running = true;
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
  }
} catch (error) {
  if (stopping.signal.aborted && !running) {
    logger.info({ err: error }, 'worker stopped while it waited for Temporal or MongoDB');
  } else {
    logger.fatal({ err: error }, 'worker failed');
    process.exitCode = 1;
  }
} finally {
  await store.close();
}
