import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotifyChannel } from '../../domain/alert';
import { createLogger } from '../../activities/logger';
import {
  DingtalkNotifier,
  FeishuNotifier,
  SlackNotifier,
  WebhookNotifier,
  WecomNotifier,
  createNotifier,
  createNotifyActivities,
  notifyAll,
  type SendAlertAttempt,
  type SendAlertRequest,
} from '../../activities/notifier';
import { FakeService, type RecordedRequest, type Reply } from './fake-service';
import { FailureType, failureOf, makeAlert } from './fixtures';

let service: FakeService;
/** Paths the fake answers as down (503) or as gone (404); anything else it accepts. */
const down = new Set<string>();
const gone = new Set<string>();

function answerByPath(request: RecordedRequest): Reply {
  const path = request.url.split('?')[0] ?? '';
  if (down.has(path)) return { status: 503, body: 'down for maintenance' };
  if (gone.has(path)) return { status: 404, body: 'no such hook' };
  return path.startsWith('/slack/') ? { status: 200, body: 'ok' } : { status: 204, body: '' };
}

beforeAll(async () => {
  service = await FakeService.start({ status: 204, body: '' });
});
afterAll(() => service.close());
beforeEach(() => {
  service.reset();
  service.answer(answerByPath);
  down.clear();
  gone.clear();
});

function channels(): Record<string, NotifyChannel> {
  return {
    oncall: { type: 'slack', url: service.url('/slack/T000AAAA1/B000BBBB2/slacktoken0123456789') },
    audit: { type: 'webhook', url: service.url('/audit'), secret: 'audit-secret-1' },
    ops: { type: 'webhook', url: service.url('/ops') },
  };
}

const paths = (): string[] => service.requests.map((request) => request.url.split('?')[0] ?? '');

describe('createNotifier', () => {
  it.each([
    ['webhook', WebhookNotifier],
    ['slack', SlackNotifier],
    ['feishu', FeishuNotifier],
    ['dingtalk', DingtalkNotifier],
    ['wecom', WecomNotifier],
  ] as const)('builds the %s notifier', (type, kind) => {
    const notifier = createNotifier({ type, url: 'https://chat.example.com/hook' });
    expect(notifier).toBeInstanceOf(kind);
    expect(notifier.type).toBe(type);
  });

  it('refuses an unknown type and names it', async () => {
    const failure = await failureOf(
      Promise.resolve().then(() =>
        createNotifier({ type: 'teams', url: 'https://x.example.com' } as unknown as NotifyChannel),
      ),
    );
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toBe(
      'unknown notification channel type "teams": the type must be webhook, slack, feishu, dingtalk or wecom',
    );
  });
});

describe('notifyAll', () => {
  it('sends to the channels at once', async () => {
    // Each answer waits for the other request: sent one after the other, neither would finish.
    let bothArrived: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (bothArrived = resolve));
    service.answer(async (request) => {
      if (service.requests.length >= 2) bothArrived();
      await Promise.race([arrived, new Promise((resolve) => setTimeout(resolve, 2000))]);
      return answerByPath(request);
    });
    const started = Date.now();
    const result = await notifyAll(channels(), ['audit', 'ops'], makeAlert());
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result).toEqual({ delivered: ['audit', 'ops'], failed: [] });
  });

  it('reports a failed channel and an unknown name, and still delivers to the rest', async () => {
    down.add('/audit');
    const result = await notifyAll(
      channels(),
      ['audit', 'pager', 'oncall', 'ops', 'ops'],
      makeAlert(),
    );
    expect(result.delivered).toEqual(['oncall', 'ops']);
    expect(result.failed.map(({ channel, error }) => [channel, error.type])).toEqual([
      ['audit', FailureType.Unavailable],
      ['pager', FailureType.BadConfig],
    ]);
    expect(result.failed[1]?.error.message).toBe(
      'unknown notification channel "pager": the channel store has "oncall", "audit", "ops"; add it with PUT /api/v1/channels/pager or NOTIFY_CHANNELS',
    );
    // A duplicated name is one channel: it gets the alert once.
    expect(paths().filter((path) => path === '/ops')).toHaveLength(1);
  });

  it('does not find a channel on the prototype', async () => {
    const result = await notifyAll(channels(), ['constructor'], makeAlert());
    expect(result.failed[0]?.error.message).toContain('unknown notification channel "constructor"');
  });
});

/** The SDK logs every failed activity as a warning; here the failures are the point. */
function mockEnvironment(info: ConstructorParameters<typeof MockActivityEnvironment>[0] = {}) {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

describe('sendAlert', () => {
  const logger = createLogger('notifier-test', 'silent');
  const activities = () => createNotifyActivities({ channels: channels(), logger });

  async function run(
    env: MockActivityEnvironment,
    request: SendAlertRequest,
  ): Promise<{ delivered: string[] }> {
    const notify = activities();
    const sendAlert = (input: SendAlertRequest) => notify.sendAlert(input);
    return env.run<[SendAlertRequest], { delivered: string[] }, typeof sendAlert>(
      sendAlert,
      request,
    );
  }

  async function failureOfRun(promise: Promise<unknown>): Promise<ApplicationFailure> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof ApplicationFailure) return error;
      throw error;
    }
    throw new Error('expected a failure');
  }

  it('delivers to every channel and heartbeats each delivery', async () => {
    const env = mockEnvironment();
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const result = await run(env, { channels: ['oncall', 'ops'], alert: makeAlert() });
    expect(result.delivered.sort()).toEqual(['oncall', 'ops']);
    expect(heartbeats).toHaveLength(2);
    expect((heartbeats.at(-1) as { delivered: string[] }).delivered.sort()).toEqual([
      'oncall',
      'ops',
    ]);
  });

  it('fails as Unavailable after trying all, and the retry sends only to the channels missed', async () => {
    down.add('/audit');
    const first = mockEnvironment();
    const heartbeats: unknown[] = [];
    first.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const failure = await failureOfRun(
      run(first, { channels: ['oncall', 'audit', 'ops'], alert: makeAlert() }),
    );
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(
      /^the alert reached 2 of 3 channels; audit: webhook http:\/\/127\.0\.0\.1:\d+\/… refused the alert \(HTTP 503\): down for maintenance$/,
    );
    expect(paths().sort()).toEqual([
      '/audit',
      '/ops',
      '/slack/T000AAAA1/B000BBBB2/slacktoken0123456789',
    ]);
    const lastHeartbeat = heartbeats.at(-1) as { delivered: string[] };
    expect([...lastHeartbeat.delivered].sort()).toEqual(['oncall', 'ops']);

    // Temporal hands the last heartbeat to the next attempt.
    down.clear();
    service.reset();
    service.answer(answerByPath);
    const retry = mockEnvironment({ attempt: 2, heartbeatDetails: lastHeartbeat });
    const result = await run(retry, { channels: ['oncall', 'audit', 'ops'], alert: makeAlert() });
    expect(paths()).toEqual(['/audit']);
    expect(result.delivered.sort()).toEqual(['audit', 'oncall', 'ops']);
  });

  it('fails as BadConfig, not retried, for an unknown name, after delivering to the known ones', async () => {
    const failure = await failureOfRun(
      run(mockEnvironment(), { channels: ['ops', 'pagerduty'], alert: makeAlert() }),
    );
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      'the alert reached 1 of 2 channels; pagerduty: unknown notification channel "pagerduty": the channel store has "oncall", "audit", "ops"; add it with PUT /api/v1/channels/pagerduty or NOTIFY_CHANNELS',
    );
    expect(paths()).toEqual(['/ops']);
  });

  it('fails as BadConfig when every failure is one no retry fixes', async () => {
    gone.add('/audit');
    const failure = await failureOfRun(
      run(mockEnvironment(), { channels: ['audit', 'ops'], alert: makeAlert() }),
    );
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).not.toContain('audit-secret-1');
  });

  it('fails as Unavailable when a retryable failure comes with an unknown name', async () => {
    down.add('/audit');
    const failure = await failureOfRun(
      run(mockEnvironment(), { channels: ['audit', 'nobody'], alert: makeAlert() }),
    );
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.nonRetryable).toBe(false);
  });

  it('ignores heartbeat details it does not recognise', async () => {
    const env = mockEnvironment({ heartbeatDetails: 'step 3' });
    const result = await run(env, { channels: ['ops'], alert: makeAlert() });
    expect(result.delivered).toEqual(['ops']);
    expect(paths()).toEqual(['/ops']);
  });

  it('ignores delivered names that the request does not ask for', async () => {
    const env = mockEnvironment({ heartbeatDetails: { delivered: ['audit', 42] } });
    const result = await run(env, { channels: ['ops'], alert: makeAlert() });
    expect(result.delivered).toEqual(['ops']);
  });

  it('reports each attempt per channel, and a retry never tries a channel refused for good', async () => {
    gone.add('/audit');
    down.add('/ops');
    const attempts: SendAlertAttempt[] = [];
    const notify = activities();
    const sendAlert = (input: SendAlertRequest) =>
      notify.sendAlert(input, {
        onAttempt: (attempt) => {
          attempts.push(attempt);
          return Promise.resolve();
        },
      });
    const request = { channels: ['oncall', 'audit', 'ops'], alert: makeAlert() };
    const first = mockEnvironment();
    const heartbeats: unknown[] = [];
    first.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const failure = await failureOfRun(first.run(sendAlert, request));
    // ops may work next time: the attempt is retryable.
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(attempts[0]).toMatchObject({
      attempt: 1,
      sent: ['oncall'],
      earlier: [],
      retryable: true,
    });
    expect(
      attempts[0]?.failed
        .map(({ channel, retryable }) => ({ channel, retryable }))
        .sort((a, b) => a.channel.localeCompare(b.channel)),
    ).toEqual([
      { channel: 'audit', retryable: false },
      { channel: 'ops', retryable: true },
    ]);

    down.clear();
    service.reset();
    service.answer(answerByPath);
    const retry = mockEnvironment({ attempt: 2, heartbeatDetails: heartbeats.at(-1) });
    const last = await failureOfRun(retry.run(sendAlert, request));
    // Only ops was tried again; audit's refusal stands, and no retry can change it.
    expect(paths()).toEqual(['/ops']);
    expect(attempts[1]).toEqual({
      attempt: 2,
      sent: ['ops'],
      failed: [],
      earlier: ['oncall'],
      retryable: false,
    });
    expect(last.type).toBe(FailureType.BadConfig);
    expect(last.nonRetryable).toBe(true);
    expect(last.message).toMatch(
      /^the alert reached 2 of 3 channels; audit: webhook .* \(HTTP 404\)/,
    );
  });

  it('records an attempt on every channel when the channel store cannot be read, and retries', async () => {
    const attempts: SendAlertAttempt[] = [];
    const notify = createNotifyActivities({
      channels: () => Promise.reject(new Error('connection to 127.0.0.1:27017 closed')),
      logger,
    });
    const sendAlert = (input: SendAlertRequest) =>
      notify.sendAlert(input, {
        onAttempt: (attempt) => {
          attempts.push(attempt);
          return Promise.resolve();
        },
      });
    const failure = await failureOfRun(
      mockEnvironment().run(sendAlert, { channels: ['ops', 'oncall'], alert: makeAlert() }),
    );
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toContain('the channel store could not be read');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, sent: [], retryable: true });
    expect(attempts[0]?.failed.map(({ channel, retryable }) => [channel, retryable])).toEqual([
      ['ops', true],
      ['oncall', true],
    ]);
    expect(paths()).toEqual([]);
  });

  it('reads the channels at each send, when given a source', async () => {
    let known: Record<string, NotifyChannel> = {};
    const notify = createNotifyActivities({ channels: () => Promise.resolve(known), logger });
    const sendAlert = (input: SendAlertRequest) => notify.sendAlert(input);
    const request = { channels: ['ops'], alert: makeAlert() };
    const before = await failureOfRun(mockEnvironment().run(sendAlert, request));
    expect(before.message).toContain(
      'unknown notification channel "ops": the channel store has none',
    );
    known = { ops: channels().ops! };
    expect(await mockEnvironment().run(sendAlert, request)).toEqual({ delivered: ['ops'] });
    expect(paths()).toEqual(['/ops']);
  });
});
