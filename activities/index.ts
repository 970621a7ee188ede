import { createHealthActivities } from './health';
import { createReleaseActivities, type ReleaseDeps } from './release';
import type { Store } from './db';

/** What the activities need from the process that runs them. */
export interface ActivityDeps extends Omit<ReleaseDeps, 'store'> {
  store: Store;
}

/** Every activity relguard registers, built over its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities({ pingMongo: () => deps.store.ping() }),
    ...createReleaseActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { WorkerHealthReport } from './health';
export type { ReleasePlan, MachineRequest } from './release';
