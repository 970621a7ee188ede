import { describe, expect, it } from 'vitest';
import type { Deployment as DeploymentView, NotifyChannelView as ChannelView } from '../../client';
import type { AlertDelivery } from '../../domain';
import { alertSettleMs } from '../../cli/watch';
import { deploymentView, fakeApi, on, runWith, shopApp, type Route } from './fake-api';

/** `release status` and `release watch` show where each alert's delivery stands. */

const at = Date.UTC(2025, 0, 2, 3, 4, 5);
const delivery = (
  kind: AlertDelivery['kind'],
  status: AlertDelivery['status'],
  attempt: number,
  error?: string,
): AlertDelivery => ({
  kind,
  channel: 'oncall',
  status,
  attempt,
  at: at + attempt * 1000,
  ...(error === undefined ? {} : { error }),
});

const refused = 'slack refused the message (HTTP 500): internal_error';
const rolledBack = (alert_deliveries: AlertDelivery[]) =>
  deploymentView('rolled_back', ['rolled_back', 'pending'], {
    reason: 'error rate 0.31 > 0.05 on the new version',
    alert_deliveries,
  });

const oncall: ChannelView = {
  name: 'oncall',
  type: 'slack',
  host: 'https://hooks.slack.com',
  secret_set: false,
  source: 'api',
  updated_at: 0,
};
const channels = on('GET', '/api/v1/channels', { status: 200, body: { channels: [oncall] } });
const app = (notify: string[]) =>
  on('GET', `/api/v1/applications/${shopApp.id}`, {
    status: 200,
    body: { ...shopApp, rollback_policy: { ...shopApp.rollback_policy, notify } },
  });

/** Answers GET /api/v1/deployments/d1 with each view in turn, then the last one forever. */
function sequence(views: DeploymentView[]): Route & { count: () => number } {
  let next = 0;
  const route = on('GET', '/api/v1/deployments/d1', () => ({
    status: 200,
    body: views[Math.min(next++, views.length - 1)],
  }));
  return Object.assign(route, { count: () => next });
}

const stamped = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .filter((line) => /^\d\d:\d\d:\d\d /.test(line))
    .map((line) => line.slice(9));

describe('release status', () => {
  it('shows each alert delivery: kind, channel, latest status, attempts, reason; a failed one loudly', async () => {
    const view = rolledBack([
      delivery('rolled_back', 'retrying', 1, refused),
      delivery('rolled_back', 'retrying', 2, refused),
      delivery('rolled_back', 'failed', 3, refused),
      { ...delivery('rolled_back', 'sent', 1), channel: 'audit' },
      delivery('analysis_ready', 'sent', 1),
    ]);
    const api = fakeApi([sequence([view]), channels]);
    const result = await runWith(['release', 'status', 'd1'], api.fetch);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const start = lines.indexOf('alerts:');
    expect(start).toBeGreaterThan(0);
    expect(lines.slice(start, start + 6)).toEqual([
      'alerts:',
      '  KIND            CHANNEL  STATUS  ATTEMPTS  AT                    REASON',
      `  rolled_back     oncall   failed  3         2025-01-02 03:04:08Z  ${refused}`,
      '  rolled_back     audit    sent    1         2025-01-02 03:04:06Z  -',
      '  analysis_ready  oncall   sent    1         2025-01-02 03:04:06Z  -',
      `ALERT NOT DELIVERED rolled_back → oncall (slack https://hooks.slack.com): ${refused} (attempt 3)`,
    ]);
    // The channels were asked for because a delivery failed.
    expect(api.requests.map((request) => request.path)).toEqual([
      '/api/v1/deployments/d1',
      '/api/v1/channels',
    ]);
  });

  it('names the channel alone when the api does not list channels, and asks nothing when all went through', async () => {
    const failed = fakeApi([
      sequence([rolledBack([delivery('rolled_back', 'failed', 5, refused)])]),
    ]);
    const result = await runWith(['release', 'status', 'd1'], failed.fetch);
    expect(result.stdout).toContain(
      `ALERT NOT DELIVERED rolled_back → oncall: ${refused} (attempt 5)`,
    );

    const sent = fakeApi([sequence([rolledBack([delivery('rolled_back', 'sent', 1)])]), channels]);
    const quiet = await runWith(['release', 'status', 'd1'], sent.fetch);
    expect(quiet.stdout).toContain('  rolled_back  oncall   sent    1');
    expect(quiet.stdout).not.toContain('NOT DELIVERED');
    expect(sent.requests.map((request) => request.path)).toEqual(['/api/v1/deployments/d1']);
  });

  it('has no alerts section when no alert was sent', async () => {
    const api = fakeApi([sequence([rolledBack([])])]);
    const result = await runWith(['release', 'status', 'd1'], api.fetch);
    expect(result.stdout).not.toContain('alerts:');
  });
});

describe('release watch', () => {
  it('prints each delivery as it changes, a failed one loudly, and again with the outcome', async () => {
    const views = sequence([
      deploymentView('rolling_back', ['rolling_back', 'pending']),
      rolledBack([delivery('rolled_back', 'retrying', 1, refused)]),
      rolledBack([
        delivery('rolled_back', 'retrying', 1, refused),
        delivery('rolled_back', 'retrying', 2, refused),
      ]),
      rolledBack([
        delivery('rolled_back', 'retrying', 1, refused),
        delivery('rolled_back', 'retrying', 2, refused),
        delivery('rolled_back', 'failed', 3, refused),
      ]),
    ]);
    const api = fakeApi([views, app(['oncall']), channels]);
    const result = await runWith(['release', 'watch', 'd1'], api.fetch);
    expect(result.code).toBe(3);
    const alertLines = stamped(result.stdout).filter((line) => /alert|ALERT/.test(line));
    expect(alertLines).toEqual([
      `alert rolled_back → oncall retrying (attempt 1): ${refused}`,
      `alert rolled_back → oncall retrying (attempt 2): ${refused}`,
      `ALERT NOT DELIVERED rolled_back → oncall (slack https://hooks.slack.com): ${refused} (attempt 3)`,
    ]);
    // The watch stayed after the release ended until the delivery was given up on.
    expect(views.count()).toBe(4);
    expect(result.stdout.trimEnd().split('\n').slice(-3)).toEqual([
      'release d1 rolled back: shop is back on v1.0.0',
      'reason: error rate 0.31 > 0.05 on the new version',
      `ALERT NOT DELIVERED rolled_back → oncall (slack https://hooks.slack.com): ${refused} (attempt 3)`,
    ]);
  });

  it("waits for the end's alert to each channel of the policy, not for the analysis' alert", async () => {
    const views = sequence([
      rolledBack([]),
      rolledBack([]),
      rolledBack([delivery('rolled_back', 'sent', 1)]),
    ]);
    const api = fakeApi([views, app(['oncall'])]);
    const result = await runWith(['release', 'watch', 'd1'], api.fetch);
    expect(result.code).toBe(3);
    const lines = stamped(result.stdout);
    // Said once, however long the wait.
    expect(lines.filter((line) => line.startsWith('waiting'))).toEqual([
      'waiting for the delivery of the alerts: rolled_back → oncall',
    ]);
    expect(lines.at(-1)).toBe('alert rolled_back → oncall sent (attempt 1)');
    // analysis_ready (the policy has ai_analysis) is not waited for: it follows minutes later.
    expect(views.count()).toBe(3);
    expect(result.stdout).not.toContain('NOT DELIVERED');
  });

  it('gives up waiting for a delivery after a bounded time and says so', async () => {
    const views = sequence([rolledBack([delivery('rolled_back', 'retrying', 1, refused)])]);
    const api = fakeApi([views, app(['oncall'])]);
    const result = await runWith(['release', 'watch', 'd1'], api.fetch);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(
      `alerts still not delivered nor given up on after ${alertSettleMs / 1000}s: rolled_back → oncall; relguard release status d1 shows where they stand`,
    );
    // One poll a second (the fake clock moves with each sleep) until the bound, not forever.
    expect(views.count()).toBe(alertSettleMs / 1000 + 1);
  });

  it('ends at once when the application names no channel', async () => {
    const views = sequence([rolledBack([])]);
    const api = fakeApi([views, app([])]);
    const result = await runWith(['release', 'watch', 'd1'], api.fetch);
    expect(result.code).toBe(3);
    expect(views.count()).toBe(1);
  });

  it('redraws the alerts section on a terminal', async () => {
    const views = sequence([
      rolledBack([delivery('rolled_back', 'retrying', 1, refused)]),
      rolledBack([delivery('rolled_back', 'failed', 2, refused)]),
    ]);
    const api = fakeApi([views, app(['oncall']), channels]);
    const result = await runWith(['release', 'watch', 'd1'], api.fetch, {
      tty: true,
      columns: 300,
    });
    expect(result.code).toBe(3);
    const frames = result.stdout.split('\x1b[J');
    expect(frames[0]).toMatch(/ {2}rolled_back {2}oncall {3}retrying {2}1 /);
    expect(frames[1]).toMatch(/ {2}rolled_back {2}oncall {3}failed {2}2 /);
    expect(frames[1]).toContain(
      `ALERT NOT DELIVERED rolled_back → oncall (slack https://hooks.slack.com): ${refused} (attempt 2)`,
    );
  });
});
