import { createHmac } from 'node:crypto';
import type { Alert, AlertKind, NotifyChannel } from '../../domain/alert';
import { Endpoint, parseObject, type NotifierDeps } from './delivery';
import { feishuMarkdown, formatAlert, truncate, utf8Bytes } from './format';
import type { Notifier } from './types';

/**
 * Feishu takes a custom bot's request up to 20 KB; the markdown keeps well under it to leave
 * room for the card around it and the JSON escaping of its quotes and newlines.
 */
const markdownLimitBytes = 12_000;
const titleLimitBytes = 300;
/** More buttons than this is a wall nobody reads, and each one costs the message bytes. */
const buttonsLimit = 10;

/** The header's colour says how bad it is before anyone reads a word. */
const templates: Record<AlertKind, string> = {
  rolled_back: 'red',
  release_failed: 'red',
  paused: 'orange',
  guard_blind: 'orange',
  analysis_ready: 'blue',
  machine_down: 'red',
  machine_recovered: 'green',
};

/**
 * Codes no retry fixes: the webhook's token is invalid (19001), the signature or its timestamp
 * does not match (19021), the caller's IP is not allowed (19022), the message lacks the bot's
 * keyword (19024). Others, such as rate limiting (11232), may pass on a retry.
 */
const configCodes = new Set([19001, 19021, 19022, 19024]);

/**
 * A Feishu (Lark) custom bot: an interactive card (a coloured header, the evidence in markdown,
 * the links as buttons), signed when the bot has a secret. Feishu answers 200 with
 * `{code: 0, msg: "success"}`, and its refusals with another code in the same 200.
 */
export class FeishuNotifier implements Notifier {
  readonly type = 'feishu';
  private readonly endpoint: Endpoint;
  private readonly now: () => number;

  constructor(
    private readonly channel: NotifyChannel,
    deps: NotifierDeps = {},
  ) {
    this.endpoint = new Endpoint('feishu', channel, deps);
    this.now = deps.now ?? Date.now;
  }

  async send(alert: Alert, options: { signal?: AbortSignal } = {}): Promise<void> {
    const message: Record<string, unknown> = {};
    if (this.channel.secret !== undefined) {
      const timestamp = Math.floor(this.now() / 1000);
      message.timestamp = String(timestamp);
      message.sign = feishuSign(timestamp, this.channel.secret);
    }
    message.msg_type = 'interactive';
    message.card = feishuCard(alert);
    const answer = await this.endpoint.post(JSON.stringify(message), options);
    this.endpoint.expectSuccess(answer, (text) => messageOf(parseObject(text)) ?? text);
    const body = parseObject(answer.text);
    // Older bots answer {StatusCode, StatusMessage}; newer ones {code, msg}, often both.
    this.endpoint.expectCode(answer, body?.code ?? body?.StatusCode, messageOf(body), configCodes);
  }
}

/**
 * Feishu's scheme signs nothing with a key made of the timestamp and the secret: the HMAC is
 * keyed by `${timestamp}\n${secret}` over an empty message, then base64.
 */
export function feishuSign(timestampSeconds: number, secret: string): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

export function feishuCard(alert: Alert) {
  const elements: unknown[] = [
    {
      tag: 'markdown',
      content: formatAlert(alert, { markup: feishuMarkdown, limit: markdownLimitBytes }),
    },
  ];
  if (alert.links.length > 0) {
    elements.push({
      tag: 'action',
      actions: alert.links.slice(0, buttonsLimit).map((link, index) => ({
        tag: 'button',
        text: { tag: 'plain_text', content: link.label },
        type: index === 0 ? 'primary' : 'default',
        url: link.url,
      })),
    });
  }
  return {
    config: { wide_screen_mode: true },
    header: {
      template: templates[alert.kind],
      title: { tag: 'plain_text', content: truncate(alert.title, titleLimitBytes, utf8Bytes) },
    },
    elements,
  };
}

function messageOf(body: Record<string, unknown> | undefined): string | undefined {
  const message = body?.msg ?? body?.StatusMessage;
  return typeof message === 'string' ? message : undefined;
}
