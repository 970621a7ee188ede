import { describe, expect, it } from 'vitest';
import type { AlertDelivery } from '../../domain';
import { expectedAlerts, latestDeliveries, unsettledAlerts } from '../../domain/alert-deliveries';

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
});
