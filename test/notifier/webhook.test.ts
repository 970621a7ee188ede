import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebhookNotifier } from '../../activities/notifier/webhook';
import { FakeService } from './fake-service';
import { FailureType, failureOf, makeAlert } from './fixtures';

const secret = 'whsec-do-not-leak-0001';
const token = 'hook-token-9f8e7d6c5b4a';
let service: FakeService;

beforeAll(async () => {
  service = await FakeService.start({ status: 204, body: '' });
});
afterAll(() => service.close());
beforeEach(() => service.reset());

function notifier(options: { secret?: boolean; timeoutMs?: number } = {}): WebhookNotifier {
  return new WebhookNotifier(
    {
      type: 'webhook',
      url: service.url(`/hooks/${token}?tenant=${token}`),
      ...(options.secret === false ? {} : { secret }),
    },
    options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
  );
}

describe('WebhookNotifier', () => {
  it('posts the alert itself as JSON with its event and kind', async () => {
    const alert = makeAlert();
    await notifier().send(alert);
    expect(service.requests).toHaveLength(1);
    const [request] = service.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(`/hooks/${token}?tenant=${token}`);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request?.headers['x-relguard-event']).toBe('rolled_back');
    expect(JSON.parse(request?.body ?? '')).toEqual({ event: 'relguard.alert', alert });
  });

  it('signs the exact body with HMAC-SHA256 of the secret', async () => {
    await notifier().send(makeAlert());
    const [request] = service.requests;
    const expected = createHmac('sha256', secret)
      .update(request?.body ?? '')
      .digest('hex');
    expect(request?.headers['x-relguard-signature-256']).toBe(`sha256=${expected}`);
  });

  it('sends no signature without a secret', async () => {
    await notifier({ secret: false }).send(makeAlert({ kind: 'paused' }));
    const [request] = service.requests;
    expect(request?.headers['x-relguard-signature-256']).toBeUndefined();
    expect(request?.headers['x-relguard-event']).toBe('paused');
  });

  it('maps a 5xx to Unavailable with the service message, and no token or secret', async () => {
    service.answer({ status: 503, body: `overloaded, retry later (${token})` });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toMatch(
      /^webhook http:\/\/127\.0\.0\.1:\d+\/… refused the alert \(HTTP 503\): overloaded, retry later \(\[redacted\]\)$/,
    );
    expect(JSON.stringify(failure.details)).not.toContain(token);
  });

  it.each([400, 401, 403, 404, 410])('maps a %i to BadConfig', async (status) => {
    service.answer({ status, body: 'no such hook' });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain(`(HTTP ${status}): no such hook; check the channel's URL`);
    expect(failure.message).not.toContain(token);
    expect(failure.message).not.toContain(secret);
  });

  it('does not follow a redirect, which would hand the alert to another host', async () => {
    service.answer({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    const failure = await failureOf(notifier().send(makeAlert()));
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(service.requests).toHaveLength(1);
  });

  it('maps a service that does not answer in time to Unavailable', async () => {
    service.answer(() => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 500)));
    const failure = await failureOf(notifier({ timeoutMs: 100 }).send(makeAlert()));
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toMatch(/did not answer within 0\.1 s$/);
  });

  it('maps a service nobody listens on to Unavailable, without the URL', async () => {
    const gone = await FakeService.start({});
    const url = gone.url(`/hooks/${token}`);
    await gone.close();
    const failure = await failureOf(
      new WebhookNotifier({ type: 'webhook', url, secret }).send(makeAlert()),
    );
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toMatch(/^webhook http:\/\/127\.0\.0\.1:\d+\/… is unreachable: /);
    expect(failure.message).not.toContain(token);
  });

  it('ends as cancelled, not as a failure to retry, when the caller aborts', async () => {
    service.answer(() => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 500)));
    const controller = new AbortController();
    const sending = notifier().send(makeAlert(), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('activity cancelled')), 50);
    await expect(sending).rejects.toThrow('activity cancelled');
  });
});
