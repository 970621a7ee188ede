import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WecomNotifier } from '../../activities/notifier/wecom';
import { FakeService } from './fake-service';
import { FailureType, alertWithRules, failureOf, makeAlert } from './fixtures';

const key = '693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';
let service: FakeService;

beforeAll(async () => {
  service = await FakeService.start({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
});
afterAll(() => service.close());
beforeEach(() => service.reset());

const notifier = (): WecomNotifier =>
  new WecomNotifier({ type: 'wecom', url: service.url(`/cgi-bin/webhook/send?key=${key}`) });

interface WecomMessage {
  msgtype: string;
  markdown: { content: string };
}

describe('WecomNotifier', () => {
  it('posts a markdown message with the breaking numbers in the warning colour', async () => {
    await notifier().send(makeAlert());
    const [request] = service.requests;
    expect(request?.url).toBe(`/cgi-bin/webhook/send?key=${key}`);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    const message = service.lastJson() as WecomMessage;
    expect(Object.keys(message)).toEqual(['msgtype', 'markdown']);
    expect(Object.keys(message.markdown)).toEqual(['content']);
    expect(message.msgtype).toBe('markdown');
    const { content } = message.markdown;
    expect(content).toMatch(
      /^### shop v2\.0\.0 rolled back: error-rate 0\.3123 > 0\.05\n\*\*App:\*\* shop/,
    );
    expect(content).toContain(
      '- **error-rate**: <font color="warning">0.3123</font> > 0.05\n  `sum(rate(',
    );
    expect(content).toContain('[Grafana](https://grafana.example.com/d/shop?var-version=v2.0.0)');
  });

  it('keeps the content within 4096 bytes, even in Chinese, and counts the rules it cut', async () => {
    const alert = alertWithRules(40);
    alert.failing = alert.failing.map((rule, index) => ({ ...rule, rule: `错误率-${index + 1}` }));
    await notifier().send(alert);
    const { content } = (service.lastJson() as WecomMessage).markdown;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    const shown = content.match(/^- \*\*错误率-\d+\*\*/gm)?.length ?? 0;
    expect(content).toContain(`- and ${40 - shown} more\n**Action:**`);
  });

  it('maps an invalid key (93000) to BadConfig without the key', async () => {
    service.answer({
      status: 200,
      body: {
        errcode: 93000,
        errmsg: `invalid webhook url, hint: [1735787045], from ip: 10.0.0.1, key: ${key}`,
      },
    });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toMatch(
      /^wecom http:\/\/127\.0\.0\.1:\d+\/… refused the alert \(HTTP 200 code 93000\): invalid webhook url/,
    );
    expect(failure.message).not.toContain(key);
  });

  it('maps the rate limit (45009) to Unavailable', async () => {
    service.answer({ status: 200, body: { errcode: 45009, errmsg: 'api freq out of limit' } });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toContain('code 45009): api freq out of limit');
  });

  it('maps a 5xx to Unavailable', async () => {
    service.answer({ status: 500, body: 'oops' });
    expect((await failureOf(notifier().send(makeAlert()))).type).toBe(FailureType.Unavailable);
  });
});
