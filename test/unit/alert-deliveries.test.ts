import { describe, expect, it } from 'vitest';
import type { AlertDelivery } from '../../domain';
import {
  alertWindowMs,
  awaitingAlerts,
  expectedAlerts,
  givenUpDeliveries,
  latestDeliveries,
  unsettledAlerts,
} from '../../domain/alert-deliveries';

const entry = (
  kind: AlertDelivery['kind'],
  channel: string,
  status: AlertDelivery['status'],
  attempt: number,
): AlertDelivery => ({ kind, channel, status, attempt, at: attempt });

describe('alert deliveries', () => {
  it('keeps the newest entry of each (kind, channel), in the order the pairs first appear', () => {
    expect(
      latestDeliveries([
        entry('rolled_back', 'oncall', 'retrying', 1),
        entry('rolled_back', 'audit', 'sent', 1),
        entry('rolled_back', 'oncall', 'failed', 2),
        entry('analysis_ready', 'oncall', 'sent', 1),
      ]),
    ).toEqual([
      entry('rolled_back', 'oncall', 'failed', 2),
      entry('rolled_back', 'audit', 'sent', 1),
      entry('analysis_ready', 'oncall', 'sent', 1),
    ]);
    expect(latestDeliveries(undefined)).toEqual([]);
  });

  it('keeps every delivery given up on, also one a later alert of its kind got through after', () => {
    // The first pause's alert failed for good; a second pause's reached the channel.
    const deliveries = [
      entry('paused', 'oncall', 'retrying', 1),
      entry('paused', 'oncall', 'failed', 5),
      entry('paused', 'oncall', 'sent', 6),
      entry('rolled_back', 'oncall', 'sent', 7),
    ];
    expect(latestDeliveries(deliveries).map((delivery) => delivery.status)).toEqual([
      'sent',
      'sent',
    ]);
    expect(givenUpDeliveries(deliveries)).toEqual([entry('paused', 'oncall', 'failed', 5)]);
    expect(givenUpDeliveries(undefined)).toEqual([]);
  });

  it("expects a rollback's alert and its analysis' on each channel, a failure's, nothing else", () => {
    const policy = { notify: ['oncall', 'audit'], ai_analysis: true };
    expect(expectedAlerts('rolled_back', policy)).toEqual([
      { kind: 'rolled_back', channel: 'oncall' },
      { kind: 'rolled_back', channel: 'audit' },
      { kind: 'analysis_ready', channel: 'oncall' },
      { kind: 'analysis_ready', channel: 'audit' },
    ]);
    expect(expectedAlerts('rolled_back', { notify: ['oncall'], ai_analysis: false })).toEqual([
      { kind: 'rolled_back', channel: 'oncall' },
    ]);
    expect(expectedAlerts('failed', policy).map((target) => target.kind)).toEqual([
      'release_failed',
      'release_failed',
    ]);
    expect(expectedAlerts('succeeded', policy)).toEqual([]);
    expect(expectedAlerts('deploying', policy)).toEqual([]);
    expect(expectedAlerts('rolled_back', { notify: [], ai_analysis: true })).toEqual([]);
  });

  it('is unsettled while expected with no entry, or retrying; settled once sent or failed', () => {
    const expected = [
      { kind: 'rolled_back', channel: 'oncall' },
      { kind: 'rolled_back', channel: 'audit' },
    ] as const;
    expect(unsettledAlerts([], expected)).toEqual(expected);
    const retrying = entry('rolled_back', 'oncall', 'retrying', 1);
    const blind = entry('guard_blind', 'ops', 'retrying', 2);
    expect(
      unsettledAlerts([retrying, entry('rolled_back', 'audit', 'sent', 1), blind], expected),
    ).toEqual([
      { kind: 'rolled_back', channel: 'oncall', latest: retrying },
      { kind: 'guard_blind', channel: 'ops', latest: blind },
    ]);
    expect(
      unsettledAlerts(
        [
          retrying,
          entry('rolled_back', 'oncall', 'failed', 2),
          entry('rolled_back', 'audit', 'sent', 1),
        ],
        expected,
      ),
    ).toEqual([]);
  });

  it('keeps a view asking while the release runs, then while its alerts are on their way, within a bound', () => {
    const policy = { notify: ['oncall'], ai_analysis: true };
    const end = 1_000_000;
    const rolledBack = (alert_deliveries: AlertDelivery[]) => ({
      status: 'rolled_back' as const,
      updatedTime: end,
      alert_deliveries,
    });
    expect(awaitingAlerts({ status: 'verifying', updatedTime: 0 }, policy, end * 9)).toBe(true);
    // Ended: the policy not known yet, then each expected alert until settled.
    expect(awaitingAlerts(rolledBack([]), undefined, end + 1000)).toBe(true);
    expect(awaitingAlerts(rolledBack([]), policy, end + 1000)).toBe(true);
    const sent = { ...entry('rolled_back', 'oncall', 'sent', 1), at: end + 500 };
    expect(awaitingAlerts(rolledBack([sent]), policy, end + 1000)).toBe(true);
    const analysisFailed = { ...entry('analysis_ready', 'oncall', 'failed', 5), at: end + 90_000 };
    expect(awaitingAlerts(rolledBack([sent, analysisFailed]), policy, end + 91_000)).toBe(false);
    // A succeeded release sends nothing at its end; no channel, nothing either.
    expect(awaitingAlerts({ status: 'succeeded', updatedTime: end }, policy, end + 1000)).toBe(
      false,
    );
    expect(awaitingAlerts(rolledBack([]), { notify: [], ai_analysis: true }, end + 1000)).toBe(
      false,
    );
    // Never past the window after the last change or delivery, even with one still retrying.
    const retrying = { ...entry('rolled_back', 'oncall', 'retrying', 2), at: end + 10_000 };
    expect(awaitingAlerts(rolledBack([retrying]), policy, end + 10_000 + alertWindowMs)).toBe(true);
    expect(awaitingAlerts(rolledBack([retrying]), policy, end + 10_001 + alertWindowMs)).toBe(
      false,
    );
  });
});
