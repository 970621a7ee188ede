import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FeishuNotifier } from '../../activities/notifier/feishu';
import { FakeService } from './fake-service';
import { FailureType, alertWithRules, failureOf, makeAlert } from './fixtures';

const hookId = '2f1a3b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b';
const path = `/open-apis/bot/v2/hook/${hookId}`;
const secret = 'feishu-signing-secret-XYZ';
const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
let service: FakeService;

beforeAll(async () => {
  service = await FakeService.start({
    status: 200,
    body: { StatusCode: 0, StatusMessage: 'success', code: 0, data: {}, msg: 'success' },
  });
});
afterAll(() => service.close());
beforeEach(() => service.reset());

function notifier(options: { secret?: boolean } = {}): FeishuNotifier {
  return new FeishuNotifier(
    {
      type: 'feishu',
      url: service.url(path),
      ...(options.secret === false ? {} : { secret }),
    },
    { now: () => now },
  );
}

interface FeishuMessage {
  timestamp?: string;
  sign?: string;
  msg_type: string;
  card: {
    config: unknown;
    header: { template: string; title: { tag: string; content: string } };
    elements: { tag: string; content?: string; actions?: unknown[] }[];
  };
}

describe('FeishuNotifier', () => {
  it('posts an interactive card: red header, markdown evidence, link buttons', async () => {
    await notifier({ secret: false }).send(makeAlert());
    const [request] = service.requests;
    expect(request?.url).toBe(path);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    const message = service.lastJson() as FeishuMessage;
    expect(Object.keys(message)).toEqual(['msg_type', 'card']);
    expect(message.msg_type).toBe('interactive');
    expect(message.card.header).toEqual({
      template: 'red',
      title: { tag: 'plain_text', content: 'shop v2.0.0 rolled back: error-rate 0.3123 > 0.05' },
    });
    const [markdown, action] = message.card.elements;
    expect(markdown?.tag).toBe('markdown');
    expect(markdown?.content).toContain('**App:** shop  **Version:** v2.0.0 → v1.9.0');
    expect(markdown?.content).toContain(
      "- **error-rate**: <font color='red'>0.3123</font> &gt; 0.05\n  `sum(rate(",
    );
    expect(action).toEqual({
      tag: 'action',
      actions: [
        {
          tag: 'button',
          text: { tag: 'plain_text', content: 'Deployment' },
          type: 'primary',
          url: 'http://127.0.0.1:3000/deployments/dep-42',
        },
        {
          tag: 'button',
          text: { tag: 'plain_text', content: 'Grafana' },
          type: 'default',
          url: 'https://grafana.example.com/d/shop?var-version=v2.0.0',
        },
      ],
    });
  });

  it('colours a pause orange', async () => {
    await notifier({ secret: false }).send(makeAlert({ kind: 'paused' }));
    expect((service.lastJson() as FeishuMessage).card.header.template).toBe('orange');
  });

  it("signs with Feishu's scheme: HMAC keyed by timestamp and secret over nothing", async () => {
    await notifier().send(makeAlert());
    const message = service.lastJson() as FeishuMessage;
    const timestamp = Math.floor(now / 1000);
    expect(message.timestamp).toBe(String(timestamp));
    const expected = createHmac('sha256', `${timestamp}\n${secret}`)
      .update(Buffer.alloc(0))
      .digest('base64');
    expect(message.sign).toBe(expected);
  });

  it('keeps the request within 20 KB and counts the rules it cut', async () => {
    await notifier().send(alertWithRules(200));
    const [request] = service.requests;
    expect(Buffer.byteLength(request?.body ?? '')).toBeLessThanOrEqual(20 * 1024);
    const markdown = (service.lastJson() as FeishuMessage).card.elements[0]?.content ?? '';
    expect(markdown).toMatch(/- and \d+ more\n\*\*Action:\*\*/);
  });

  it('maps a signature refusal (19021) to BadConfig, in Feishu’s words, without the secret', async () => {
    service.answer({
      status: 200,
      body: {
        code: 19021,
        data: {},
        msg: 'sign match fail or timestamp is not within one hour from current time',
      },
    });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toMatch(
      /^feishu http:\/\/127\.0\.0\.1:\d+\/… refused the alert \(HTTP 200 code 19021\): sign match fail or timestamp is not within one hour from current time; check the channel's URL and secret$/,
    );
    expect(failure.details).toMatchObject({ code: 19021, status: 200 });
    expect(failure.message).not.toContain(secret);
    expect(failure.message).not.toContain(hookId);
  });

  it('maps a rate limit (11232) to Unavailable: a retry may pass', async () => {
    service.answer({
      status: 200,
      body: { code: 11232, msg: 'frequency limited psm[lark.oapi.app_platform_runtime]appID[1]' },
    });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toContain('code 11232): frequency limited');
  });

  it('maps an answer it cannot read to Unavailable', async () => {
    service.answer({ status: 200, body: '<html>gateway</html>' });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toContain('unexpected answer: <html>gateway</html>');
  });

  it('maps a 5xx to Unavailable and a 400 to BadConfig, with the token echoed back redacted', async () => {
    service.answer({ status: 500, body: { code: 9499, msg: 'internal error' } });
    expect((await failureOf(notifier().send(makeAlert()))).type).toBe(FailureType.Unavailable);
    service.answer({ status: 400, body: { code: 9499, msg: `Bad Request for hook ${hookId}` } });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain('(HTTP 400): Bad Request for hook [redacted]');
  });
});
