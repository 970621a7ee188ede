import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DingtalkNotifier } from '../../activities/notifier/dingtalk';
import { FakeService } from './fake-service';
import { FailureType, alertWithRules, failureOf, makeAlert } from './fixtures';

const accessToken = 'b6a8f0c2d4e6f8a0b2c4d6e8f0a2c4e6b6a8f0c2d4e6f8a0b2c4d6e8f0a2c4e6';
const secret = 'SECa1b2c3d4e5f6+/=secret';
const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
let service: FakeService;

beforeAll(async () => {
  service = await FakeService.start({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
});
afterAll(() => service.close());
beforeEach(() => service.reset());

function notifier(options: { secret?: boolean } = {}): DingtalkNotifier {
  return new DingtalkNotifier(
    {
      type: 'dingtalk',
      url: service.url(`/robot/send?access_token=${accessToken}`),
      ...(options.secret === false ? {} : { secret }),
    },
    { now: () => now },
  );
}

interface DingtalkMessage {
  msgtype: string;
  markdown: { title: string; text: string };
}

describe('DingtalkNotifier', () => {
  it('posts a markdown message with a title and the evidence, links included', async () => {
    await notifier({ secret: false }).send(makeAlert());
    const [request] = service.requests;
    expect(request?.url).toBe(`/robot/send?access_token=${accessToken}`);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    const message = service.lastJson() as DingtalkMessage;
    expect(Object.keys(message)).toEqual(['msgtype', 'markdown']);
    expect(message.msgtype).toBe('markdown');
    expect(message.markdown.title).toBe('shop v2.0.0 rolled back: error-rate 0.3123 > 0.05');
    expect(message.markdown.text).toMatch(
      /^### shop v2\.0\.0 rolled back: error-rate 0\.3123 > 0\.05\n\n\*\*App:\*\* shop/,
    );
    expect(message.markdown.text).toContain(
      '- **latency-p99**: 1.235 >= 0.8\n  `histogram_quantile(',
    );
    expect(message.markdown.text).toContain(
      '**Links:** [Deployment](http://127.0.0.1:3000/deployments/dep-42) · [Grafana](https://grafana.example.com/d/shop?var-version=v2.0.0)',
    );
  });

  it("signs in the URL with DingTalk's scheme, beside the access token", async () => {
    await notifier().send(makeAlert());
    const [request] = service.requests;
    const query = new URL(request?.url ?? '', 'http://127.0.0.1').searchParams;
    expect(query.get('access_token')).toBe(accessToken);
    const timestamp = query.get('timestamp');
    expect(timestamp).toBe(String(now));
    const expected = createHmac('sha256', secret)
      .update(`${timestamp}\n${secret}`)
      .digest('base64');
    expect(query.get('sign')).toBe(expected);
    // The base64's + / = arrive percent-encoded, not as a space or a separator.
    expect(request?.url).toContain(`sign=${encodeURIComponent(expected)}`);
  });

  it('keeps the text within its limit and counts the rules it cut', async () => {
    await notifier().send(alertWithRules(200));
    const text = (service.lastJson() as DingtalkMessage).markdown.text;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(12_000);
    expect(text).toMatch(/- and \d+ more\n\n\*\*Action:\*\*/);
  });

  it('maps a security refusal (310000) to BadConfig, without the token or the secret', async () => {
    service.answer({
      status: 200,
      body: {
        errcode: 310000,
        errmsg: `sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq] access_token=${accessToken}`,
      },
    });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toMatch(
      /^dingtalk http:\/\/127\.0\.0\.1:\d+\/… refused the alert \(HTTP 200 code 310000\): sign not match, more: \[https:\/\/ding-doc\.dingtalk\.com\/… access_token=\[redacted\]/,
    );
    expect(failure.message).not.toContain(accessToken);
    expect(failure.message).not.toContain(secret);
    expect(failure.message).not.toContain(encodeURIComponent(secret));
  });

  it('maps sending too fast (130101) to Unavailable: a retry may pass', async () => {
    service.answer({
      status: 200,
      body: { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' },
    });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toContain('(HTTP 200 code 130101): send too fast');
  });

  it('maps a 5xx to Unavailable and a 404 to BadConfig', async () => {
    service.answer({ status: 502, body: 'bad gateway' });
    expect((await failureOf(notifier().send(makeAlert()))).type).toBe(FailureType.Unavailable);
    service.answer({ status: 404, body: 'not found' });
    expect((await failureOf(notifier().send(makeAlert()))).type).toBe(FailureType.BadConfig);
  });
});
