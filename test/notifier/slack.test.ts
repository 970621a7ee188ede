import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackNotifier } from '../../activities/notifier/slack';
import { FakeService } from './fake-service';
import { FailureType, alertWithRules, failureOf, makeAlert } from './fixtures';

// Slack's incoming-webhook URLs are all credential past the host.
const path = '/services/T0001ABCD/B0002EFGH/xoxbSecretToken1234567890';
let service: FakeService;

beforeAll(async () => {
  service = await FakeService.start({ status: 200, body: 'ok' });
});
afterAll(() => service.close());
beforeEach(() => service.reset());

const notifier = (): SlackNotifier => new SlackNotifier({ type: 'slack', url: service.url(path) });

interface SlackMessage {
  text: string;
  blocks: {
    type: string;
    text?: { type: string; text: string };
    elements?: { type: string; action_id: string; text: { text: string }; url: string }[];
  }[];
}

describe('SlackNotifier', () => {
  it('posts Block Kit: a header, the evidence in mrkdwn, and the links as buttons', async () => {
    await notifier().send(makeAlert());
    const [request] = service.requests;
    expect(request?.url).toBe(path);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    const message = service.lastJson() as SlackMessage;
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section', 'actions']);
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: 'shop v2.0.0 rolled back: error-rate 0.3123 > 0.05',
        emoji: true,
      },
    });
    const section = message.blocks[1]?.text;
    expect(section?.type).toBe('mrkdwn');
    expect(section?.text).toContain('*App:* shop  *Version:* v2.0.0 → v1.9.0');
    expect(section?.text).toContain('• *error-rate*: 0.3123 &gt; 0.05\n  `sum(rate(');
    expect(section?.text).toContain('*Action:* rolled back 2 machines to v1.9.0');
    expect(message.blocks[2]?.elements).toEqual([
      {
        type: 'button',
        action_id: 'link-0',
        text: { type: 'plain_text', text: 'Deployment' },
        url: 'http://127.0.0.1:3000/deployments/dep-42',
      },
      {
        type: 'button',
        action_id: 'link-1',
        text: { type: 'plain_text', text: 'Grafana' },
        url: 'https://grafana.example.com/d/shop?var-version=v2.0.0',
      },
    ]);
    // The text is what notifications and screen readers get: the whole story, links included.
    expect(message.text.split('\n')[0]).toBe(
      'shop v2.0.0 rolled back: error-rate 0.3123 &gt; 0.05',
    );
    expect(message.text).toContain('Grafana: https://grafana.example.com/d/shop');
  });

  it('leaves out the actions block when there are no links', async () => {
    await notifier().send(makeAlert({ links: [] }));
    const message = service.lastJson() as SlackMessage;
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section']);
  });

  it("keeps within Block Kit's limits and counts the rules it cut", async () => {
    await notifier().send(alertWithRules(60));
    const message = service.lastJson() as SlackMessage;
    const section = message.blocks[1]?.text?.text ?? '';
    expect(section.length).toBeLessThanOrEqual(3000);
    expect(section).toMatch(/• and \d+ more\n\*Action:\*/);
    expect(message.text.length).toBeLessThanOrEqual(3000);
  });

  it('maps a 200 that is not "ok" to Unavailable with what Slack said', async () => {
    service.answer({ status: 200, body: 'rollup_error' });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toMatch(
      /^slack http:\/\/127\.0\.0\.1:\d+\/… refused the alert \(HTTP 200\): rollup_error$/,
    );
  });

  it.each([
    [400, 'invalid_payload'],
    [403, 'invalid_token'],
    [404, 'no_service'],
    [410, 'channel_is_archived'],
  ])('maps a %i %s to BadConfig without the token', async (status, error) => {
    service.answer({ status, body: error });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain(`(HTTP ${status}): ${error}`);
    expect(failure.message).not.toContain('xoxbSecretToken1234567890');
    expect(failure.message).not.toContain('T0001ABCD');
  });

  it.each([429, 500, 502])('maps a %i to Unavailable', async (status) => {
    service.answer({ status, body: 'try later' });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
  });
});
