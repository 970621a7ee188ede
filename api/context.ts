import type { Store } from '../activities/db';
import type { Logger } from '../activities/logger';
import type { PackageStore } from '../activities/package-store';
import type { Principal } from './auth';
import type { RangeQuerySource } from './prometheus-series';
import type { Releases } from './releases';

/** What a handler reaches through `c.var`, set once per app by createApp. */
export interface ApiVariables {
  store: Pick<
    Store,
    | 'applications'
    | 'deployments'
    | 'packages'
    | 'analysisReports'
    | 'webhookDeliveries'
    | 'tokens'
    | 'audit'
    | 'guardEvaluations'
    | 'machineEvents'
    | 'notifyChannels'
    | 'ping'
  >;
  temporal: TemporalHealth;
  releases: Releases;
  logger: Logger;
  /** Where the console's charts come from; unset, the routes that need it answer 503. */
  prometheus?: RangeQuerySource;
  /**
   * The web console as people reach it (CONSOLE_PUBLIC_URL, no trailing slash), for the links
   * of the Markdown report; unset, this api's own /console at the request's origin.
   */
  consoleUrl?: string;
  /**
   * The channel names of this api's NOTIFY_CHANNELS, which it writes back at each start: a PUT
   * of one is refused. A stored env channel no longer among them (taken out of the
   * environment, or a worker's) may be replaced through the api.
   */
  envChannelNames?: readonly string[];
  /** Where uploaded packages go (the worker's store), and how large one may be. */
  packageUploads: { packageStore?: PackageStore; maxPackageBytes: number };
  /**
   * How often Prometheus scrapes the machines: a policy whose rate windows or verification
   * window could never be judged at this interval is refused when it is saved.
   */
  scrapeIntervalSeconds: number;
  /**
   * How long a claimed release slot may wait for its workflow to start before another request
   * may judge it stale (its api died between claim and start) and take it. Default 30 s.
   */
  releaseStartGraceMs?: number;
  /** Who made the request; set by the authentication middleware on the routes that need it. */
  principal?: Principal;
}

export interface ApiEnv {
  Variables: ApiVariables;
}

/** Whether the Temporal frontend answers; the api needs nothing more of Temporal yet. */
export interface TemporalHealth {
  check(): Promise<boolean>;
}
