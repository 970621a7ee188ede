import type { Store } from '../activities/db';
import type { Logger } from '../activities/logger';
import type { Releases } from './releases';

/** What a handler reaches through `c.var`, set once per app by createApp. */
export interface ApiVariables {
  store: Pick<Store, 'applications' | 'deployments' | 'packages' | 'analysisReports' | 'ping'>;
  temporal: TemporalHealth;
  releases: Releases;
  logger: Logger;
}

export interface ApiEnv {
  Variables: ApiVariables;
}

/** Whether the Temporal frontend answers; the api needs nothing more of Temporal yet. */
export interface TemporalHealth {
  check(): Promise<boolean>;
}
