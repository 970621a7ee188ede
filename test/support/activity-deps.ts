import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ActivityDeps } from '../../activities';
import type { Store } from '../../activities/db';
import { createLogger } from '../../activities/logger';
import { HeuristicAnalyzer } from '../../activities/analyzer';
import { createChangeSource } from '../../activities/changes';
import { PrometheusClient } from '../../activities/metrics';
import { LocalPackageStore } from '../../activities/package-store/local';
import { loadPackageUrlSecret } from '../../activities/package-store/signed-url';
import type { NotifyChannel } from '../../domain';
import { createPlatform } from '../../activities/platform';

export interface TestActivityDeps {
  deps: ActivityDeps;
  packageDir: string;
  dispose(): Promise<void>;
}

/**
 * The real activity dependencies over temp folders: a local package store whose files are
 * served at `packageBaseUrl`, the local and ssh platforms, a build folder.
 */
export async function testActivityDeps(
  store: Store,
  packageBaseUrl = 'http://127.0.0.1:1/packages',
  options: {
    prometheusUrl?: string;
    targetsDir?: string;
    notifyChannels?: Record<string, NotifyChannel>;
    /** The test Prometheus' scrape interval (startPrometheus' default is 1 s). */
    scrapeIntervalSeconds?: number;
  } = {},
): Promise<TestActivityDeps> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'relguard-activities-'));
  const logger = createLogger('worker', 'silent');
  const packageDir = path.join(root, 'packages');
  const platformOptions = { releasesKept: 3, logger };
  // Without a Prometheus of the test's own, nothing answers here: evaluations are errors.
  const prometheus = new PrometheusClient({ url: options.prometheusUrl ?? 'http://127.0.0.1:1' });
  return {
    packageDir,
    deps: {
      store,
      // The secret kept in the folder, as an api and a worker process started without
      // PACKAGE_URL_SECRET share it (release-stack's worker processes do).
      packageStore: new LocalPackageStore({
        dir: packageDir,
        baseUrl: packageBaseUrl,
        urlSecret: loadPackageUrlSecret({ dir: packageDir }),
      }),
      platforms: {
        local: createPlatform('local', platformOptions),
        ssh: createPlatform('ssh', platformOptions),
      },
      buildDir: path.join(root, 'builds'),
      packageUrlTtlSeconds: 600,
      targetsDir: options.targetsDir ?? path.join(root, 'targets'),
      metrics: prometheus,
      scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 1,
      notifyChannels: options.notifyChannels ?? {},
      links: {
        temporalUiUrl: 'http://127.0.0.1:8233',
        namespace: 'default',
        apiUrl: packageBaseUrl.replace(/\/packages$/, ''),
        consoleUrl: `${packageBaseUrl.replace(/\/packages$/, '')}/console`,
      },
      // No GitHub token: pull requests come from the application's git repository.
      changes: createChangeSource({ githubApiUrl: 'http://127.0.0.1:1' }),
      analyzers: [new HeuristicAnalyzer(prometheus)],
      logger,
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}
