import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../domain/config';
import { createActivities } from '../activities';
import { ensureIndexes, openStore } from '../activities/db';
import { createLogger } from '../activities/logger';
import { activityDeps } from './activity-deps';
import { temporalLogger } from './temporal-logger';
import { createWorker } from './worker';

const config = loadConfig(process.env);
const logger = createLogger('worker', config.LOG_LEVEL);

// The Runtime stops the worker gracefully on SIGINT and SIGTERM: running activities finish
// (or are cancelled at their heartbeat) before run() resolves.
Runtime.install({ logger: temporalLogger(logger), shutdownSignals: ['SIGINT', 'SIGTERM'] });

const store = openStore({
  uri: config.MONGODB_URI,
  dbName: config.MONGODB_DB,
  timeoutMs: config.MONGODB_TIMEOUT_MS,
});

try {
  await ensureIndexes(store);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const worker = await createWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      activities: createActivities(activityDeps(config, store, logger)),
    });
    logger.info(
      {
        temporal: config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
      },
      'worker started',
    );
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
  }
} catch (error) {
  logger.fatal({ err: error }, 'worker failed');
  process.exitCode = 1;
} finally {
  await store.close();
}
