import { z } from './zod';
import type { RuleResult } from './guard';

/** A notification channel, configured in NOTIFY_CHANNELS and named by rollback_policy.notify. */
export const NotifyChannel = z.strictObject({
  type: z.enum(['webhook', 'slack', 'feishu', 'dingtalk', 'wecom']),
  /** The incoming-webhook URL the service gave (it often carries the access token). */
  url: z.url(),
  /** The signing secret, for the services that sign (Feishu, DingTalk) and the generic webhook. */
  secret: z.string().min(1).optional(),
});
export type NotifyChannel = z.infer<typeof NotifyChannel>;

/**
 * What happened. `guard_blind`: the metric guard cannot see the release's metrics (Prometheus
 * is out) and the policy lets it go on; `analysis_ready` follows a rollback when its root-cause
 * report is written; `machine_down` and `machine_recovered` come from the health watcher,
 * between releases as during them (no deployment: `deployment_id` is empty).
 */
export type AlertKind =
  | 'rolled_back'
  | 'paused'
  | 'release_failed'
  | 'guard_blind'
  | 'analysis_ready'
  | 'machine_down'
  | 'machine_recovered';

/**
 * One event worth a person's attention, with its evidence: one alert per event, never one
 * per evaluation.
 */
export interface Alert {
  kind: AlertKind;
  /** What happened, in one line. */
  title: string;
  app: string;
  version: string;
  previous_version: string;
  deployment_id: string;
  /** The machines on the new version when it happened. */
  machines: string[];
  /** The rules that failed, each with its PromQL, value and threshold. */
  failing: RuleResult[];
  /** What relguard did: "rolled back 2 machines to v1.0.0", "paused the release". */
  action: string;
  links: { label: string; url: string }[];
  /** Epoch ms. */
  at: number;
}
