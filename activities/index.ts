import type { NotifyChannel } from '../domain';
import { createAnalysisActivities } from './analysis';
import type { Analyzer } from './analyzer/types';
import type { ChangeSource } from './changes/types';
import type { Store } from './db';
import { createGuardActivities } from './guard';
import { createHealthActivities } from './health';
import { createMachineHealthActivities } from './machine-health';
import type { MetricSource } from './metrics';
import { createNotifyActivities } from './notifier';
import { createPackageBuildActivities } from './package-builds';
import { createReleaseActivities, type ReleaseDeps } from './release';
import { createReleaseAlertActivities, type ReleaseAlertDeps } from './release-alerts';

/** What the activities need from the process that runs them. */
export interface ActivityDeps extends Omit<ReleaseDeps, 'store'> {
  store: Store;
  metrics: MetricSource;
  /**
   * This process' NOTIFY_CHANNELS: written to the channel store at start-up (worker/main.ts);
   * alerts read the store at each send, never this.
   */
  notifyChannels: Record<string, NotifyChannel>;
  links: ReleaseAlertDeps['links'];
  /** Where the pull requests of a release are read. */
  changes: ChangeSource;
  /** Tried in order until one writes a report: the LLM when configured, then the heuristic. */
  analyzers: Analyzer[];
}

/** Every activity relguard registers, built over its dependencies. */
export function createActivities(deps: ActivityDeps) {
  // The channel store, read at each send: a channel put while the worker runs works at once.
  const notify = createNotifyActivities({
    channels: () => deps.store.notifyChannels.byName(),
    logger: deps.logger,
  });
  return {
    ...createHealthActivities({ pingMongo: () => deps.store.ping() }),
    ...createReleaseActivities(deps),
    ...createPackageBuildActivities({ store: deps.store, logger: deps.logger }),
    ...createGuardActivities({
      store: deps.store,
      metrics: deps.metrics,
      platforms: deps.platforms,
      scrapeIntervalSeconds: deps.scrapeIntervalSeconds,
      logger: deps.logger,
    }),
    ...createMachineHealthActivities({
      store: deps.store,
      metrics: deps.metrics,
      platforms: deps.platforms,
      sendAlert: (request) => notify.sendAlert(request),
      links: deps.links,
      scrapeIntervalSeconds: deps.scrapeIntervalSeconds,
      targetsDir: deps.targetsDir,
      logger: deps.logger,
    }),
    ...createReleaseAlertActivities({
      store: deps.store,
      sendAlert: (request, options) => notify.sendAlert(request, options),
      links: deps.links,
      logger: deps.logger,
    }),
    ...createAnalysisActivities({
      store: deps.store,
      changes: deps.changes,
      analyzers: deps.analyzers,
      logger: deps.logger,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { WorkerHealthReport } from './health';
export type { ReleasePlan, MachineRequest } from './release';
export type { AnalysisRequest, CollectedContext } from './analysis';
