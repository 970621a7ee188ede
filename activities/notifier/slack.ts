import type { Alert, NotifyChannel } from '../../domain/alert';
import { FailureType } from '../../domain/errors';
import { Endpoint, type NotifierDeps } from './delivery';
import { escapeSlack, formatAlert, plainText, slackMrkdwn, truncate } from './format';
import type { Notifier } from './types';

/** Block Kit's limits: a header's text, a section's text, a button's label, an actions block. */
const headerLimit = 150;
const sectionLimit = 3000;
const buttonLabelLimit = 75;
const buttonsLimit = 25;
const characters = (text: string): number => text.length;

/**
 * A Slack incoming webhook: Block Kit (a header, the evidence as mrkdwn, the links as buttons)
 * and the same evidence as `text`, which Slack shows in notifications and reads to screen
 * readers. Slack answers `ok` as plain text, and its errors (`invalid_payload`, `no_service`)
 * the same way with a 4xx.
 */
export class SlackNotifier implements Notifier {
  readonly type = 'slack';
  private readonly endpoint: Endpoint;

  constructor(channel: NotifyChannel, deps: NotifierDeps = {}) {
    this.endpoint = new Endpoint('slack', channel, deps);
  }

  async send(alert: Alert, options: { signal?: AbortSignal } = {}): Promise<void> {
    const answer = await this.endpoint.post(JSON.stringify(slackMessage(alert)), options);
    this.endpoint.expectSuccess(answer);
    if (answer.text.trim() !== 'ok') {
      throw this.endpoint.refused(FailureType.Unavailable, {
        status: answer.status,
        message: answer.text,
      });
    }
  }
}

export function slackMessage(alert: Alert) {
  const blocks: unknown[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(alert.title, headerLimit, characters),
        emoji: true,
      },
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: formatAlert(alert, { markup: slackMrkdwn, limit: sectionLimit, measure: characters }),
      },
    },
  ];
  if (alert.links.length > 0) {
    blocks.push({
      type: 'actions',
      elements: alert.links.slice(0, buttonsLimit).map((link, index) => ({
        type: 'button',
        // Slack wants an id per element even on a button that only opens a link.
        action_id: `link-${index}`,
        text: { type: 'plain_text', text: truncate(link.label, buttonLabelLimit, characters) },
        url: link.url,
      })),
    });
  }
  const text = formatAlert(alert, {
    markup: { ...plainText, text: escapeSlack, code: escapeSlack },
    limit: sectionLimit,
    measure: characters,
    title: true,
    links: true,
  });
  return { text, blocks };
}
