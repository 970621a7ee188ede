import { Context } from '@temporalio/activity';
import type { Alert, NotifyChannel } from '../../domain/alert';
import { FailureType, RelguardError } from '../../domain/errors';
import { asActivity } from '../failures';
import type { Logger } from '../logger';
import { redactUrls, type NotifierDeps } from './delivery';
import { DingtalkNotifier } from './dingtalk';
import { FeishuNotifier } from './feishu';
import { SlackNotifier } from './slack';
import type { Notifier } from './types';
import { WebhookNotifier } from './webhook';
import { WecomNotifier } from './wecom';

export type { Notifier } from './types';
export type { NotifierDeps } from './delivery';
export { WebhookNotifier } from './webhook';
export { SlackNotifier } from './slack';
export { FeishuNotifier } from './feishu';
export { DingtalkNotifier } from './dingtalk';
export { WecomNotifier } from './wecom';
export { formatAlert } from './format';

/** The notifier a channel's type names; any other type is refused. */
export function createNotifier(channel: NotifyChannel, deps: NotifierDeps = {}): Notifier {
  switch (channel.type) {
    case 'webhook':
      return new WebhookNotifier(channel, deps);
    case 'slack':
      return new SlackNotifier(channel, deps);
    case 'feishu':
      return new FeishuNotifier(channel, deps);
    case 'dingtalk':
      return new DingtalkNotifier(channel, deps);
    case 'wecom':
      return new WecomNotifier(channel, deps);
    default: {
      // Reachable from configuration the schema did not check, such as a test's or a script's.
      const type: unknown = (channel as { type: unknown }).type;
      throw new RelguardError(
        FailureType.BadConfig,
        `unknown notification channel type ${JSON.stringify(type)}: the type must be webhook, slack, feishu, dingtalk or wecom`,
        { type },
      );
    }
  }
}

export interface NotifyResult {
  delivered: string[];
  failed: { channel: string; error: RelguardError }[];
}

export interface NotifyAllDeps extends NotifierDeps {
  signal?: AbortSignal;
  /** Called as each channel takes the alert, before the others are done. */
  onDelivered?: (channel: string) => void;
}

/**
 * Sends the alert to each named channel at once. A channel that fails, or a name that is not a
 * channel, is reported in `failed` and never stops the others: whether one failure matters is
 * the caller's decision. Only a cancellation throws.
 */
export async function notifyAll(
  channels: Record<string, NotifyChannel>,
  names: string[],
  alert: Alert,
  deps: NotifyAllDeps = {},
): Promise<NotifyResult> {
  const { signal, onDelivered, ...notifierDeps } = deps;
  const outcomes = await Promise.all(
    [...new Set(names)].map(async (name) => {
      try {
        await createNotifier(channelNamed(channels, name), notifierDeps).send(alert, {
          ...(signal === undefined ? {} : { signal }),
        });
        onDelivered?.(name);
        return { name, error: undefined };
      } catch (error) {
        if (signal?.aborted === true) throw error;
        return { name, error: asRelguardError(error) };
      }
    }),
  );
  return {
    delivered: outcomes.filter((outcome) => outcome.error === undefined).map(({ name }) => name),
    failed: outcomes.flatMap(({ name, error }) =>
      error === undefined ? [] : [{ channel: name, error }],
    ),
  };
}

function channelNamed(channels: Record<string, NotifyChannel>, name: string): NotifyChannel {
  // Own properties only: a channel named "constructor" must not find Object's.
  const channel = Object.hasOwn(channels, name) ? channels[name] : undefined;
  if (channel !== undefined) return channel;
  const known = Object.keys(channels);
  throw new RelguardError(
    FailureType.BadConfig,
    `unknown notification channel ${JSON.stringify(name)}: the channel store ${
      known.length === 0 ? 'has none' : `has ${known.map((key) => JSON.stringify(key)).join(', ')}`
    }; add it with PUT /api/v1/channels/${encodeURIComponent(name)} or NOTIFY_CHANNELS`,
    { channel: name, known },
  );
}

/** A failure that is not relguard's own is a bug or a network oddity: worth a retry. */
function asRelguardError(error: unknown): RelguardError {
  if (error instanceof RelguardError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RelguardError(FailureType.Unavailable, redactUrls(message));
}

/** The channels by name, read at each send (the channel store), or a fixed set. */
export type ChannelLookup =
  Record<string, NotifyChannel> | (() => Promise<Record<string, NotifyChannel>>);

export interface NotifyActivityDeps extends NotifierDeps {
  channels: ChannelLookup;
  logger: Logger;
}

export interface SendAlertRequest {
  channels: string[];
  alert: Alert;
}

/** A channel this attempt could not deliver to, and whether a retry may (BadConfig: never). */
export interface ChannelFailure {
  channel: string;
  message: string;
  retryable: boolean;
}

/**
 * What one attempt did, per channel: `sent` took the alert now, `failed` did not (a channel
 * refused for good by an earlier attempt is not tried, nor reported, again), `earlier` took it
 * in an earlier attempt. `retryable`: the attempt fails and a retry may deliver what it missed.
 */
export interface SendAlertAttempt {
  attempt: number;
  sent: string[];
  failed: ChannelFailure[];
  earlier: string[];
  retryable: boolean;
}

export interface SendAlertOptions {
  /** Called once per attempt, after every channel answered and before it returns or throws. */
  onAttempt?: (attempt: SendAlertAttempt) => Promise<void>;
}

/**
 * What a failed attempt leaves for the next one: the channels that already have the alert, and
 * those that refused it for good (BadConfig), which no retry tries again.
 */
interface SendAlertProgress {
  delivered: string[];
  refused?: { channel: string; message: string }[];
}

export function createNotifyActivities(deps: NotifyActivityDeps) {
  const { channels, logger, ...notifierDeps } = deps;
  const readChannels = typeof channels === 'function' ? channels : () => Promise.resolve(channels);

  return {
    /**
     * Sends the alert to each named channel and fails, after trying them all, if any failed.
     * The channels are read at each send. A channel is sent the alert once: each delivery is
     * recorded in the heartbeat, and a retry skips the channels the failed attempt reached and
     * those that refused it for good. The failure is BadConfig (no retry) when every failure is
     * one, such as an unknown channel name; otherwise Unavailable.
     */
    async sendAlert(
      request: SendAlertRequest,
      options: SendAlertOptions = {},
    ): Promise<{ delivered: string[] }> {
      return asActivity(async () => {
        const context = Context.current();
        const names = [...new Set(request.channels)];
        const before = progressBefore(context.info.heartbeatDetails);
        const delivered = before.delivered.filter((name) => names.includes(name));
        const earlier = [...delivered];
        const refused = (before.refused ?? []).filter(({ channel }) => names.includes(channel));
        const log = logger.child({
          deployment_id: request.alert.deployment_id,
          alert: request.alert.kind,
          attempt: context.info.attempt,
        });
        if (delivered.length > 0 || refused.length > 0) {
          log.info(
            { delivered, refused: refused.map(({ channel }) => channel) },
            'resuming the alert: skipping the channels that have it or refused it for good',
          );
        }
        const pending = names.filter(
          (name) => !delivered.includes(name) && !refused.some(({ channel }) => channel === name),
        );
        const progress = (): SendAlertProgress => ({
          delivered: [...delivered],
          ...(refused.length === 0 ? {} : { refused: [...refused] }),
        });
        let known: Record<string, NotifyChannel> = {};
        try {
          if (pending.length > 0) known = await readChannels();
        } catch (error) {
          // Recorded as this attempt's failure on every pending channel, then retried: a
          // store that cannot be read must not leave the deliveries without a word.
          const message = `the channel store could not be read: ${error instanceof Error ? error.message : String(error)}`;
          log.warn({ error: message }, 'alert not delivered');
          await options.onAttempt?.({
            attempt: context.info.attempt,
            sent: [],
            failed: pending.map((channel) => ({ channel, message, retryable: true })),
            earlier,
            retryable: true,
          });
          throw new RelguardError(FailureType.Unavailable, message, { delivered });
        }
        const result = await notifyAll(known, pending, request.alert, {
          ...notifierDeps,
          signal: context.cancellationSignal,
          onDelivered: (name) => {
            delivered.push(name);
            context.heartbeat(progress());
          },
        });
        for (const name of result.delivered) log.info({ channel: name }, 'alert delivered');
        for (const { channel, error } of result.failed) {
          log.warn({ channel, failure: error.type, error: error.message }, 'alert not delivered');
        }
        const failedNow = result.failed.map(({ channel, error }) => ({ channel, error }));
        for (const { channel, error } of failedNow) {
          if (error.type === FailureType.BadConfig)
            refused.push({ channel, message: error.message });
        }
        const retryable = failedNow.some(({ error }) => error.type !== FailureType.BadConfig);
        if (failedNow.length > 0) context.heartbeat(progress());
        await options.onAttempt?.({
          attempt: context.info.attempt,
          sent: result.delivered,
          failed: failedNow.map(({ channel, error }) => ({
            channel,
            message: error.message,
            retryable: error.type !== FailureType.BadConfig,
          })),
          earlier,
          retryable,
        });
        if (failedNow.length === 0 && refused.length === 0) return { delivered };

        const failures = [
          ...refused
            .filter(({ channel }) => !failedNow.some((failed) => failed.channel === channel))
            .map(({ channel, message }) => ({ channel, type: FailureType.BadConfig, message })),
          ...failedNow.map(({ channel, error }) => ({
            channel,
            type: error.type,
            message: error.message,
          })),
        ];
        throw new RelguardError(
          retryable ? FailureType.Unavailable : FailureType.BadConfig,
          `the alert reached ${delivered.length} of ${names.length} channels; ` +
            failures.map(({ channel, message }) => `${channel}: ${message}`).join('; '),
          { delivered, failed: failures },
        );
      });
    },
  };
}

/** The previous attempt's heartbeat, if it has the expected shape; anything else counts as none. */
function progressBefore(details: unknown): SendAlertProgress {
  if (typeof details !== 'object' || details === null) return { delivered: [] };
  const { delivered, refused } = details as Partial<Record<keyof SendAlertProgress, unknown>>;
  return {
    delivered: Array.isArray(delivered)
      ? delivered.filter((name): name is string => typeof name === 'string')
      : [],
    refused: Array.isArray(refused)
      ? refused.flatMap((entry: unknown) => {
          if (typeof entry !== 'object' || entry === null) return [];
          const { channel, message } = entry as Record<string, unknown>;
          return typeof channel === 'string' && typeof message === 'string'
            ? [{ channel, message }]
            : [];
        })
      : [],
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
