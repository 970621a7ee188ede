import { createHealthActivities } from './health';
import type { Store } from './db';

/** What the activities need from the process that runs them. */
export interface ActivityDeps {
  store: Store;
}

/** Every activity relguard registers, built over its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities({ pingMongo: () => deps.store.ping() }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { WorkerHealthReport } from './health';
