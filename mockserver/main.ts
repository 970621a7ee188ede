import path from 'node:path';
import { createLogger } from '../activities/logger';
import { parseCliOptions, usage } from './cli-options';
import { loadConfig } from './config';
import { createMockServer } from './server';

async function main(): Promise<void> {
  let options;
  let config;
  try {
    options = parseCliOptions(process.argv.slice(2), process.env);
    if (options.help) {
      process.stdout.write(`${usage}\n`);
      return;
    }
    config = loadConfig(options.config, process.cwd());
  } catch (error) {
    process.stderr.write(`mockserver: ${error instanceof Error ? error.message : String(error)}\n`);
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }

  const logger = createLogger('mockserver', options.logLevel);
  const server = await createMockServer({
    port: options.port,
    host: options.host,
    app: options.app,
    version: options.version,
    instance: options.instance,
    deployPath: options.deployPath,
    faults: config.faults,
    baselineLatency: options.baselineLatency,
    // Next to the release when relguard deployed us, so a disk fault fills the app's own disk.
    diskDir:
      options.diskDir ??
      (options.deployPath === undefined
        ? undefined
        : path.join(options.deployPath, '.mockserver-disk')),
    logger,
  });
  logger.info(
    {
      url: server.url,
      port: server.port,
      app: server.app,
      version: server.version,
      instance: server.instance,
      faults: config.faults.length,
    },
    'mockserver listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    // A second signal means "now": skip the cleanup that is taking too long.
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'mockserver stopping');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'mockserver did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`mockserver: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
