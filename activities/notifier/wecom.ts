import type { Alert, NotifyChannel } from '../../domain/alert';
import { Endpoint, parseObject, type NotifierDeps } from './delivery';
import { formatAlert, wecomMarkdown } from './format';
import type { Notifier } from './types';

/** WeCom refuses markdown content over 4096 bytes of UTF-8. */
const contentLimitBytes = 4096;

/**
 * Codes no retry fixes: the webhook key is invalid (93000). Others, such as the rate limit
 * (45009), may pass on a retry.
 */
const configCodes = new Set([93000]);

/**
 * A WeCom (WeChat Work) group robot: a markdown message with the breaking numbers in WeCom's
 * warning colour. WeCom robots are not signed: the key in the URL is the credential. WeCom
 * answers 200 with `{errcode: 0, errmsg: "ok"}`, and its refusals with another errcode.
 */
export class WecomNotifier implements Notifier {
  readonly type = 'wecom';
  private readonly endpoint: Endpoint;

  constructor(channel: NotifyChannel, deps: NotifierDeps = {}) {
    this.endpoint = new Endpoint('wecom', channel, deps);
  }

  async send(alert: Alert, options: { signal?: AbortSignal } = {}): Promise<void> {
    const message = {
      msgtype: 'markdown',
      markdown: {
        content: formatAlert(alert, {
          markup: wecomMarkdown,
          limit: contentLimitBytes,
          title: true,
          links: true,
        }),
      },
    };
    const answer = await this.endpoint.post(JSON.stringify(message), options);
    this.endpoint.expectSuccess(answer);
    const body = parseObject(answer.text);
    const errmsg = typeof body?.errmsg === 'string' ? body.errmsg : undefined;
    this.endpoint.expectCode(answer, body?.errcode, errmsg, configCodes);
  }
}
