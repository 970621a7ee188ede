import path from 'node:path';
import type { ActivityDeps } from '../activities';
import type { Store } from '../activities/db';
import type { Logger } from '../activities/logger';
import { createAnalyzers } from '../activities/analyzer';
import { createChangeSource } from '../activities/changes';
import { PrometheusClient, prometheusOptions } from '../activities/metrics';
import { createPackageStore } from '../activities/package-store';
import { createPlatform } from '../activities/platform';
import type { CommandSettings } from '../activities/platform/command-env';
import { consolePublicUrl, type Config } from '../domain/config';

/** The activities' dependencies, built from the configuration once per worker process. */
export function activityDeps(
  config: Config,
  store: Store,
  logger: Logger,
  /** RELGUARD_RUN_AS and RELGUARD_COMMAND_ENV, resolved by worker/main.ts at start-up. */
  commands: CommandSettings = { passEnv: config.RELGUARD_COMMAND_ENV },
): ActivityDeps {
  const platformOptions = {
    releasesKept: config.DEPLOY_RELEASES_KEPT,
    logger,
    commands,
    hostKeys: {
      policy: config.SSH_HOST_KEY_POLICY,
      knownHostsFile: config.SSH_KNOWN_HOSTS_FILE,
      pins: store.sshHostKeys,
    },
    connectTimeoutMs: config.SSH_CONNECT_TIMEOUT_SECONDS * 1000,
    commandTimeoutMs: config.SSH_COMMAND_TIMEOUT_SECONDS * 1000,
    packageDownloadTimeoutMs: config.PACKAGE_DOWNLOAD_TIMEOUT_SECONDS * 1000,
    archiveLimits: {
      maxUnpackedBytes: config.ARCHIVE_MAX_UNPACKED_MB * 1024 * 1024,
      maxEntries: config.ARCHIVE_MAX_ENTRIES,
    },
  };
  const prometheus = new PrometheusClient(prometheusOptions(config));
  return {
    store,
    packageStore: createPackageStore(
      { ...config, PACKAGE_DIR: path.resolve(config.PACKAGE_DIR) },
      { logger },
    ),
    platforms: {
      local: createPlatform('local', platformOptions),
      ssh: createPlatform('ssh', platformOptions),
    },
    buildDir: path.resolve(config.BUILD_DIR),
    gitTimeoutSeconds: config.GIT_TIMEOUT_SECONDS,
    commands,
    packageUrlTtlSeconds: config.PACKAGE_URL_TTL_SECONDS,
    targetsDir: path.resolve(config.PROMETHEUS_TARGETS_DIR),
    metrics: prometheus,
    scrapeIntervalSeconds: config.PROMETHEUS_SCRAPE_INTERVAL_SECONDS,
    notifyChannels: config.NOTIFY_CHANNELS,
    links: {
      temporalUiUrl: config.TEMPORAL_UI_URL,
      namespace: config.TEMPORAL_NAMESPACE,
      apiUrl: config.API_PUBLIC_URL,
      consoleUrl: consolePublicUrl(config),
    },
    changes: createChangeSource({
      githubToken: config.GITHUB_TOKEN,
      githubApiUrl: config.GITHUB_API_URL,
    }),
    analyzers: createAnalyzers(config, { prometheus, logger }),
    logger,
  };
}
