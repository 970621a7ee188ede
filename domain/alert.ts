import { z } from './zod';
import type { RuleResult } from './guard';

/**
 * A channel's name: what rollback_policy.notify, NOTIFY_CHANNELS and /api/v1/channels/{name}
 * call it. Letters and digits first, then letters, digits, `_`, `.` and `-`, 64 at most.
 */
export const channelNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Why a name is not a channel's, naming it; undefined when it is one. */
export function channelNameProblem(name: string): string | undefined {
  return channelNamePattern.test(name)
    ? undefined
    : `channel name ${JSON.stringify(name)} must start with a letter or digit and have only letters, digits, _, . and - (64 at most)`;
}

export const ChannelName = z
  .string()
  .superRefine((name, ctx) => {
    const problem = channelNameProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({
    pattern: channelNamePattern.source,
    minLength: 1,
    maxLength: 64,
    description:
      "A channel's name: 1 to 64 letters, digits, `_`, `.` and `-`, starting with a letter or digit.",
  });

/**
 * How many times an alert is tried before relguard gives up on it (the alert activities'
 * retry policy, in the release and analysis workflows).
 */
export const alertAttempts = 5;

/** A notification channel, configured in NOTIFY_CHANNELS and named by rollback_policy.notify. */
export const NotifyChannel = z.strictObject({
  type: z.enum(['webhook', 'slack', 'feishu', 'dingtalk', 'wecom']),
  /** The incoming-webhook URL the service gave (it often carries the access token). */
  url: z.url().openapi({
    description:
      'The incoming-webhook URL the service gave (it often carries the access token): an absolute URL as WHATWG URL parsing reads it (`new URL()`), with a scheme and, for http and https, a host.',
  }),
  /** The signing secret, for the services that sign (Feishu, DingTalk) and the generic webhook. */
  secret: z.string().min(1).optional(),
});
export type NotifyChannel = z.infer<typeof NotifyChannel>;

/**
 * Where a stored channel comes from: `env` is a process' NOTIFY_CHANNELS (the api and the
 * worker write theirs at each start), `api` is PUT /api/v1/channels/{name}.
 */
export const ChannelSource = z.enum(['env', 'api']);
export type ChannelSource = z.infer<typeof ChannelSource>;

/** A channel as the api shows it: never its URL's path or query (tokens) nor its secret. */
export const ChannelView = z.object({
  name: z.string(),
  type: NotifyChannel.shape.type,
  /** The URL's scheme and host, e.g. `https://hooks.slack.com`. */
  host: z.string(),
  secret_set: z.boolean(),
  source: ChannelSource,
  /** Epoch ms. */
  updated_at: z.number().int(),
});
export type ChannelView = z.infer<typeof ChannelView>;

/**
 * What happened. `guard_blind`: the metric guard cannot see the release's metrics (Prometheus
 * is out) and the policy lets it go on; `analysis_ready` follows a rollback when its root-cause
 * report is written; `machine_down` and `machine_recovered` come from the health watcher,
 * between releases as during them (no deployment: `deployment_id` is empty).
 */
export const AlertKind = z.enum([
  'rolled_back',
  'paused',
  'release_failed',
  'guard_blind',
  'analysis_ready',
  'machine_down',
  'machine_recovered',
]);
export type AlertKind = z.infer<typeof AlertKind>;

/**
 * One attempt to deliver one alert to one channel, as recorded on the deployment the alert is
 * about (`Deployment.alert_deliveries`, oldest first). `sent`: the channel took it. `retrying`:
 * this attempt failed and another follows. `failed`: relguard gave up on this channel; the
 * release's result and `relguard_alert_deliveries_total{outcome="failed"}` say so too. The
 * newest entry of a (kind, channel) pair is where that delivery stands.
 */
export const AlertDelivery = z.object({
  kind: AlertKind,
  channel: z.string(),
  status: z.enum(['sent', 'retrying', 'failed']),
  /** The activity attempt that made it (1 for the first). */
  attempt: z.number().int().min(1),
  /** Why the channel did not take it, in the service's words (no URL, no secret). */
  error: z.string().optional(),
  /** Epoch ms. */
  at: z.number().int(),
});
export type AlertDelivery = z.infer<typeof AlertDelivery>;

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
