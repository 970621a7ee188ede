import { createHmac } from 'node:crypto';
import type { Alert, NotifyChannel } from '../../domain/alert';
import { Endpoint, parseObject, type NotifierDeps } from './delivery';
import { dingtalkMarkdown, formatAlert, truncate, utf8Bytes } from './format';
import type { Notifier } from './types';

/**
 * DingTalk does not state a markdown limit for custom robots; its robot APIs cap a message's
 * parameters at 15,000 bytes, so the text stays under that.
 */
const textLimitBytes = 12_000;
/** The title only shows in the chat list and the notification: one short line. */
const titleLimitBytes = 200;

/**
 * Codes no retry fixes: the access token does not exist (300001), and the robot's security
 * settings refused the message (310000: keyword missing, signature wrong or stale, IP not
 * allowed). Others, such as sending too fast (130101), may pass on a retry.
 */
const configCodes = new Set([300001, 310000]);

/**
 * A DingTalk group robot: a markdown message, signed in the URL when the robot has a secret.
 * DingTalk answers 200 with `{errcode: 0, errmsg: "ok"}`, and its refusals with another errcode
 * in the same 200.
 */
export class DingtalkNotifier implements Notifier {
  readonly type = 'dingtalk';
  private readonly endpoint: Endpoint;
  private readonly now: () => number;

  constructor(
    private readonly channel: NotifyChannel,
    deps: NotifierDeps = {},
  ) {
    this.endpoint = new Endpoint('dingtalk', channel, deps);
    this.now = deps.now ?? Date.now;
  }

  async send(alert: Alert, options: { signal?: AbortSignal } = {}): Promise<void> {
    const message = {
      msgtype: 'markdown',
      markdown: {
        title: truncate(alert.title, titleLimitBytes, utf8Bytes),
        text: formatAlert(alert, {
          markup: dingtalkMarkdown,
          limit: textLimitBytes,
          title: true,
          links: true,
        }),
      },
    };
    const answer = await this.endpoint.post(JSON.stringify(message), {
      ...options,
      url: this.signedUrl(),
    });
    this.endpoint.expectSuccess(answer);
    const body = parseObject(answer.text);
    const errmsg = typeof body?.errmsg === 'string' ? body.errmsg : undefined;
    this.endpoint.expectCode(answer, body?.errcode, errmsg, configCodes);
  }

  /** DingTalk checks the signature in the query, beside the access token the URL carries. */
  private signedUrl(): string {
    if (this.channel.secret === undefined) return this.channel.url;
    const timestamp = this.now();
    const url = new URL(this.channel.url);
    url.searchParams.set('timestamp', String(timestamp));
    url.searchParams.set('sign', dingtalkSign(timestamp, this.channel.secret));
    return url.toString();
  }
}

/** DingTalk's scheme: HMAC-SHA256 keyed by the secret over `${timestamp}\n${secret}`, base64. */
export function dingtalkSign(timestampMs: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}
