import { createHmac } from 'node:crypto';
import type { Alert, NotifyChannel } from '../../domain/alert';
import { Endpoint, type NotifierDeps } from './delivery';
import type { Notifier } from './types';

/** The header a receiver checks the body against, in the style GitHub made familiar. */
export const signatureHeader = 'X-Relguard-Signature-256';

/**
 * Any HTTP endpoint: the Alert itself as JSON, so that a receiver builds its own message. With a
 * secret, the body is signed (HMAC-SHA256, hex) so that the receiver can tell relguard from
 * anyone else who learned the URL.
 */
export class WebhookNotifier implements Notifier {
  readonly type = 'webhook';
  private readonly endpoint: Endpoint;

  constructor(
    private readonly channel: NotifyChannel,
    deps: NotifierDeps = {},
  ) {
    this.endpoint = new Endpoint('webhook', channel, deps);
  }

  async send(alert: Alert, options: { signal?: AbortSignal } = {}): Promise<void> {
    const body = JSON.stringify({ event: 'relguard.alert', alert });
    const headers: Record<string, string> = { 'X-Relguard-Event': alert.kind };
    if (this.channel.secret !== undefined) {
      headers[signatureHeader] =
        `sha256=${createHmac('sha256', this.channel.secret).update(body).digest('hex')}`;
    }
    const answer = await this.endpoint.post(body, { headers, ...options });
    this.endpoint.expectSuccess(answer);
  }
}
