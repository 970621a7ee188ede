import { describe, expect, it } from 'vitest';
import type { MachineStatus } from '../../domain/application';
import {
  describeNotice,
  flapDowns,
  flapWindowIntervals,
  initialMachineState,
  judgeMachine,
  statusRecord,
  type HealthNotice,
  type HealthNoticeKind,
  type MachineHealthSettings,
  type MachineHealthState,
  type MachineObservation,
} from '../../domain/machine-health';

const intervalSeconds = 30;
const startedAt = Date.UTC(2025, 0, 2, 3, 0, 0);
/** Check n (from 1) runs one interval after check n - 1; check 0 is the watcher's start. */
const timeOf = (check: number): number => startedAt + check * intervalSeconds * 1000;
const windowChecks = flapWindowIntervals;

/** What a check can see, by a short name, so that a case reads as a line of checks. */
const seen = {
  ok: { check: { state: 'ok' }, scrape: { state: 'up' }, alerts: [] },
  fail: {
    check: { state: 'failed', reason: 'GET /healthz answered 503' },
    scrape: { state: 'up' },
    alerts: [],
  },
  scrapeDown: { check: { state: 'ok' }, scrape: { state: 'down' }, alerts: [] },
  bothDown: {
    check: { state: 'failed', reason: 'GET /healthz answered 503' },
    scrape: { state: 'down' },
    alerts: [],
  },
  blind: {
    check: { state: 'ok' },
    scrape: { state: 'unavailable', reason: 'connect ECONNREFUSED 127.0.0.1:9090' },
    alerts: [],
  },
  absent: { check: { state: 'ok' }, scrape: { state: 'absent' }, alerts: [] },
  discovering: { check: { state: 'ok' }, scrape: { state: 'discovering' }, alerts: [] },
  unreachable: {
    check: { state: 'unreachable', reason: 'ssh: connect to host web-1 port 22: timed out' },
    scrape: { state: 'up' },
    alerts: [],
  },
  silent: {
    check: { state: 'unreachable', reason: 'ssh: connect to host web-1 port 22: timed out' },
    scrape: { state: 'unavailable', reason: 'connect ECONNREFUSED 127.0.0.1:9090' },
    alerts: [],
  },
  alert: {
    check: { state: 'ok' },
    scrape: { state: 'up' },
    alerts: ['HighLatency', 'ErrorBudgetBurn', 'HighLatency'],
  },
  failAlert: {
    check: { state: 'failed', reason: 'GET /healthz answered 503' },
    scrape: { state: 'up' },
    alerts: ['HighLatency'],
  },
  blindAlert: {
    check: { state: 'ok' },
    scrape: { state: 'unavailable', reason: 'connect ECONNREFUSED 127.0.0.1:9090' },
    alerts: ['HighLatency'],
  },
} satisfies Record<string, Omit<MachineObservation, 'machineId' | 'version'>>;
type Seen = keyof typeof seen;

interface Step {
  status: MachineStatus;
  reason: string;
  since: number;
  notice: HealthNoticeKind | '-';
  noticeOf?: HealthNotice;
  state: MachineHealthState;
}

interface Run {
  checks: Seen[];
  failuresBeforeError?: number;
  version?: string;
  stored?: { status: MachineStatus; status_reason?: string; status_since?: number };
}

/** Drives the checks through judgeMachine, one interval apart, from the stored status. */
function run({ checks, failuresBeforeError = 2, version = 'v2.0.0', stored }: Run): Step[] {
  const settings: MachineHealthSettings = {
    interval_seconds: intervalSeconds,
    failures_before_error: failuresBeforeError,
  };
  let state = initialMachineState(
    stored ?? { status: 'healthy', status_reason: 'released', status_since: startedAt },
    startedAt,
  );
  return checks.map((name, index) => {
    const judged = judgeMachine(
      state,
      { machineId: 'web-1', version, ...seen[name] },
      settings,
      timeOf(index + 1),
    );
    state = judged.state;
    return {
      status: state.status,
      reason: state.reason,
      since: state.since,
      notice: judged.notice?.kind ?? '-',
      noticeOf: judged.notice,
      state,
    };
  });
}

const words = (line: string): string[] => line.split(/\s+/).filter((word) => word !== '');
const repeat = (line: string, times: number): string => Array(times).fill(line).join(' ');

describe('judgeMachine, check by check', () => {
  // Each case: the checks, then the status and the notice after each one.
  it.each<{ name: string; checks: string; statuses: string; notices: string; limit?: number }>([
    {
      name: 'one failed check keeps it healthy; two in a row: down; back: recovered once',
      checks: 'ok fail fail ok ok ok',
      statuses: 'healthy healthy error healthy healthy healthy',
      notices: '- - down recovered - -',
    },
    {
      name: 'a failure run broken by a good check starts counting again',
      checks: 'fail ok fail ok fail fail',
      statuses: 'healthy healthy healthy healthy healthy error',
      notices: '- - - - - down',
    },
    {
      name: 'a target Prometheus has not discovered yet, just after a deploy, is no doubt',
      checks: 'ok discovering discovering discovering ok',
      statuses: 'healthy healthy healthy healthy healthy',
      notices: '- - - - -',
    },
    {
      name: 'nor a pass: failures around it still add up',
      checks: 'ok fail discovering fail',
      statuses: 'healthy healthy healthy error',
      notices: '- - - down',
    },
    {
      name: 'a check that cannot be made is no pass: failures around it still add up',
      checks: 'ok fail unreachable fail',
      statuses: 'healthy healthy healthy error',
      notices: '- - - down',
    },
    {
      name: 'down, out of sight, down again: one outage, announced once',
      checks: 'ok fail fail silent silent fail ok',
      statuses: 'healthy healthy error error unknown error healthy',
      notices: '- - down - - - recovered',
    },
    {
      name: 'failures_before_error 1: the first failed check is an error',
      limit: 1,
      checks: 'ok fail ok',
      statuses: 'healthy error healthy',
      notices: '- down recovered',
    },
    {
      name: 'failures_before_error 3: two failed checks are not enough, three are',
      limit: 3,
      checks: 'fail fail ok fail fail fail fail ok',
      statuses: 'healthy healthy healthy healthy healthy error error healthy',
      notices: '- - - - - down - recovered',
    },
    {
      name: 'Prometheus unable to scrape it counts as a failure though its check passes',
      checks: 'scrapeDown scrapeDown ok',
      statuses: 'healthy error healthy',
      notices: '- down recovered',
    },
    {
      name: 'its check failing and Prometheus unable to scrape it count as one failure',
      checks: 'bothDown fail',
      statuses: 'healthy error',
      notices: '- down',
    },
    {
      name: 'an alert makes it alert at once, with no notice of its own; its end neither',
      checks: 'alert alert ok',
      statuses: 'alert alert healthy',
      notices: '- - -',
    },
    {
      name: 'a failure not yet long enough shows the alert that fires; then error beats alert',
      checks: 'failAlert failAlert alert ok',
      statuses: 'alert error alert healthy',
      notices: '- down recovered -',
    },
    {
      name: 'an alert beats unknown',
      checks: 'blindAlert blindAlert blind blind',
      statuses: 'alert alert alert unknown',
      notices: '- - - blind',
    },
    {
      name: 'an alert ends a doubt: the machine is known again, alerting',
      checks: 'blind blind blindAlert',
      statuses: 'healthy unknown alert',
      notices: '- blind recovered',
    },
    {
      name: 'Prometheus unavailable: healthy for one check, unknown after two; back: recovered',
      checks: 'blind blind blind ok ok',
      statuses: 'healthy unknown unknown healthy healthy',
      notices: '- blind - recovered -',
    },
    {
      name: 'an unreachable platform is a doubt, not a failure',
      checks: 'unreachable unreachable unreachable ok',
      statuses: 'healthy unknown unknown healthy',
      notices: '- blind - recovered',
    },
    {
      name: 'failures_before_error 3 holds doubts as long',
      limit: 3,
      checks: 'blind blind ok blind blind blind',
      statuses: 'healthy healthy healthy healthy healthy unknown',
      notices: '- - - - - blind',
    },
    {
      name: 'a machine that cannot be judged while down is not announced twice',
      checks: 'fail fail blind blind ok',
      statuses: 'healthy error error unknown healthy',
      notices: '- down - - recovered',
    },
    {
      name: 'a blind machine that turns out to fail is announced down',
      checks: 'blind blind fail fail ok',
      statuses: 'healthy unknown unknown error healthy',
      notices: '- blind - down recovered',
    },
    {
      name: 'never cry wolf: checks failing one in two, for 100 checks',
      checks: repeat('ok fail', 50),
      statuses: repeat('healthy healthy', 50),
      notices: repeat('- -', 50),
    },
    {
      name: 'never cry wolf: Prometheus has no target for it one check in five',
      checks: repeat('ok ok ok ok absent', 20),
      statuses: repeat('healthy', 100),
      notices: repeat('-', 100),
    },
    {
      name: 'never cry wolf: Prometheus out one check in three',
      checks: repeat('ok blind ok', 30),
      statuses: repeat('healthy', 90),
      notices: repeat('-', 90),
    },
  ])('$name', ({ checks, statuses, notices, limit }) => {
    const steps = run({ checks: words(checks) as Seen[], failuresBeforeError: limit });
    expect(steps.map((step) => step.status)).toEqual(words(statuses));
    expect(steps.map((step) => step.notice)).toEqual(words(notices));
  });
});

describe('judgeMachine: reasons, times and notices', () => {
  it('says down with the reason, the version and the time of the failure that made it an error', () => {
    const steps = run({ checks: ['ok', 'fail', 'fail', 'fail', 'ok', 'ok'] });
    const [, first, down, still, recovered, after] = steps;
    expect(first).toMatchObject({ status: 'healthy', since: startedAt, notice: '-' });
    expect(down).toMatchObject({ status: 'error', since: timeOf(3), notice: 'down' });
    expect(down?.reason).toBe(
      'fails its health check (GET /healthz answered 503); 2 checks in a row',
    );
    expect(down?.noticeOf).toEqual({
      kind: 'down',
      machineId: 'web-1',
      version: 'v2.0.0',
      status: 'error',
      reason: down?.reason,
      since: timeOf(3),
    });
    // Still down: the count grows, the time it went down stays.
    expect(still).toMatchObject({ status: 'error', since: timeOf(3), notice: '-' });
    expect(still?.reason).toContain('3 checks in a row');
    expect(recovered).toMatchObject({ status: 'healthy', since: timeOf(5), notice: 'recovered' });
    expect(recovered?.noticeOf).toMatchObject({ status: 'healthy', since: timeOf(5) });
    expect(after).toMatchObject({ status: 'healthy', since: timeOf(5), notice: '-' });
  });

  it.each<{ name: string; checks: Seen[]; limit: number; reason: (string | RegExp)[] }>([
    {
      name: 'a failing health check',
      checks: ['fail'],
      limit: 1,
      reason: ['fails its health check (GET /healthz answered 503)', '1 check in a row'],
    },
    {
      name: 'an unscrapeable target',
      checks: ['scrapeDown', 'scrapeDown', 'scrapeDown'],
      limit: 3,
      reason: ['Prometheus cannot scrape it (up == 0)', '3 checks in a row'],
    },
    {
      name: 'both',
      checks: ['bothDown', 'bothDown'],
      limit: 2,
      reason: [
        /fails its health check \(GET \/healthz answered 503\) and Prometheus cannot scrape it/,
      ],
    },
  ])('the error names what failed and for how long: $name', ({ checks, limit, reason }) => {
    const last = run({ checks, failuresBeforeError: limit }).at(-1);
    expect(last?.status).toBe('error');
    for (const part of reason) {
      if (typeof part === 'string') expect(last?.reason).toContain(part);
      else expect(last?.reason).toMatch(part);
    }
  });

  it('names the firing alerts sorted and once each', () => {
    const [alerting] = run({ checks: ['alert'] });
    expect(alerting).toMatchObject({
      status: 'alert',
      reason: 'alert firing: ErrorBudgetBurn, HighLatency',
      since: timeOf(1),
    });
  });

  it('says why it cannot tell', () => {
    const blind = run({ checks: ['blind', 'blind'] }).at(-1);
    expect(blind?.reason).toContain('Prometheus cannot be asked (connect ECONNREFUSED');
    expect(blind?.reason).toContain('its health check passes');
    const absent = run({ checks: ['absent', 'absent'] }).at(-1);
    expect(absent?.reason).toContain('Prometheus has no target for it');
    const unreachable = run({ checks: ['unreachable', 'unreachable'] }).at(-1);
    expect(unreachable?.reason).toContain('its platform cannot be asked (ssh: connect');
  });

  it('keeps the time it entered a status while the status holds', () => {
    const steps = run({ checks: ['blind', 'blind', 'blind', 'blind', 'ok'] });
    expect(steps.map((step) => step.since)).toEqual([
      startedAt,
      timeOf(2),
      timeOf(2),
      timeOf(2),
      timeOf(5),
    ]);
    expect(steps[1]?.noticeOf).toMatchObject({
      kind: 'blind',
      status: 'unknown',
      since: timeOf(2),
    });
  });
});

describe('judgeMachine: a machine that runs nothing of relguard', () => {
  it.each<{ checks: string; statuses: string }>([
    { checks: 'silent silent silent', statuses: 'unknown unknown unknown' },
    { checks: 'fail fail fail fail', statuses: 'unknown unknown unknown unknown' },
    {
      checks: 'bothDown bothDown ok bothDown bothDown',
      statuses: 'unknown unknown healthy unknown unknown',
    },
    { checks: 'ok ok', statuses: 'healthy healthy' },
    { checks: 'blind ok unreachable ok', statuses: 'healthy healthy unknown healthy' },
  ])('$checks → $statuses, never error, never a notice', ({ checks, statuses }) => {
    for (const stored of ['unknown', 'healthy', 'error'] as const) {
      const steps = run({
        checks: words(checks) as Seen[],
        version: '',
        stored: { status: stored },
      });
      expect(steps.map((step) => step.status)).toEqual(words(statuses));
      expect(steps.map((step) => step.notice)).toEqual(steps.map(() => '-'));
    }
  });

  it('says why it is unknown', () => {
    const [silent] = run({ checks: ['fail'], version: '', stored: { status: 'unknown' } });
    expect(silent?.reason).toBe('runs no version deployed by relguard');
  });
});

describe('judgeMachine: the first check after the watcher starts', () => {
  it('takes a stored healthy machine as it is: a passing check says nothing', () => {
    const steps = run({
      checks: ['ok', 'ok'],
      stored: { status: 'healthy', status_reason: 'released', status_since: startedAt - 60_000 },
    });
    expect(steps.map((step) => [step.status, step.since, step.notice])).toEqual([
      ['healthy', startedAt - 60_000, '-'],
      ['healthy', startedAt - 60_000, '-'],
    ]);
  });

  it('seeds from the stored status, and a stored status with no time from the start', () => {
    const seeded = initialMachineState(
      { status: 'error', status_reason: 'release failed', status_since: 5 },
      startedAt,
    );
    expect(seeded).toEqual({
      status: 'error',
      reason: 'release failed',
      since: 5,
      failures: 0,
      doubts: 0,
      downs: [],
      quiet: false,
      judged: false,
    });
    expect(initialMachineState({ status: 'unknown' }, startedAt)).toMatchObject({
      status: 'unknown',
      reason: 'not checked yet',
      since: startedAt,
      judged: false,
    });
  });

  it('counts the failures of a machine never checked, and stays unknown until they are enough', () => {
    const steps = run({
      checks: ['fail', 'fail', 'fail'],
      failuresBeforeError: 3,
      stored: { status: 'unknown' },
    });
    expect(steps[0]).toMatchObject({ status: 'unknown', since: startedAt, notice: '-' });
    expect(steps[0]?.reason).toBe(
      'fails its health check (GET /healthz answered 503); 1 of 3 checks',
    );
    expect(steps[1]).toMatchObject({ status: 'unknown', since: startedAt, notice: '-' });
    expect(steps[2]).toMatchObject({ status: 'error', since: timeOf(3), notice: 'down' });
  });

  it('does not say blind of a machine it never judged', () => {
    const steps = run({ checks: ['blind', 'ok'], failuresBeforeError: 1 });
    expect(steps.map((step) => [step.status, step.notice])).toEqual([
      ['unknown', '-'],
      ['healthy', '-'],
    ]);
    const unknown = run({ checks: ['silent', 'silent', 'ok'], stored: { status: 'unknown' } });
    expect(unknown.map((step) => [step.status, step.notice])).toEqual([
      ['unknown', '-'],
      ['unknown', '-'],
      ['healthy', '-'],
    ]);
  });

  it('says down of a stored healthy machine whose first check fails enough', () => {
    const [down] = run({ checks: ['fail'], failuresBeforeError: 1 });
    expect(down).toMatchObject({ status: 'error', notice: 'down', since: timeOf(1) });
  });

  it('takes a machine stored in error as announced by its release: its recovery is not news', () => {
    const steps = run({ checks: ['fail', 'ok'], stored: { status: 'error', status_since: 5 } });
    expect(steps.map((step) => [step.status, step.since, step.notice])).toEqual([
      ['error', 5, '-'],
      ['healthy', timeOf(2), '-'],
    ]);
  });
});

describe('judgeMachine: flapping', () => {
  // Down after two failed checks, up after one good one: an entry into error every third check.
  const flap = ['fail', 'fail', 'ok'] as const;
  const flaps = (times: number): Seen[] => Array.from({ length: times }, () => [...flap]).flat();

  it('is the window and the count the notices say', () => {
    expect(flapWindowIntervals).toBe(10);
    expect(flapDowns).toBe(3);
  });

  it('announces the first downs, then flapping once, then nothing until it holds healthy for the window', () => {
    const keepsFlapping = 4;
    const holds = windowChecks + 3;
    const steps = run({ checks: [...flaps(flapDowns + keepsFlapping), ...repeatOk(holds)] });
    const noticed = steps.flatMap((step, index) =>
      step.notice === '-' ? [] : [[index + 1, step.notice, step.status]],
    );
    const lastChange = 3 * (flapDowns + keepsFlapping);
    expect(noticed).toEqual([
      [2, 'down', 'error'],
      [3, 'recovered', 'healthy'],
      [5, 'down', 'error'],
      [6, 'recovered', 'healthy'],
      [8, 'flapping', 'error'],
      // Quiet while it flaps; settled once healthy has held for the whole window.
      [lastChange + windowChecks, 'settled', 'healthy'],
    ]);
    const settled = steps[lastChange + windowChecks - 1];
    expect(settled?.noticeOf).toMatchObject({ since: timeOf(lastChange), reason: settled?.reason });
    expect(settled?.state).toMatchObject({ quiet: false, downs: [] });
    expect(steps.at(-1)?.state.announced).toBeUndefined();
  });

  it('settles in error, announced once, and then says recovered when it comes back', () => {
    const steps = run({
      checks: [...flaps(flapDowns + 1), ...repeatFail(windowChecks + 2), 'ok', 'ok'],
    });
    const noticed = steps.flatMap((step, index) =>
      step.notice === '-' ? [] : [[index + 1, step.notice, step.status]],
    );
    const lastDown = 3 * (flapDowns + 1) + 2;
    expect(noticed).toEqual([
      [2, 'down', 'error'],
      [3, 'recovered', 'healthy'],
      [5, 'down', 'error'],
      [6, 'recovered', 'healthy'],
      [8, 'flapping', 'error'],
      [lastDown + windowChecks, 'settled', 'error'],
      [steps.length - 1, 'recovered', 'healthy'],
    ]);
  });

  it('is not flapping when its downs are further apart than the window', () => {
    const apart = (): Seen[] => ['fail', 'fail', ...repeatOk(windowChecks)];
    const steps = run({ checks: [...apart(), ...apart(), ...apart(), ...apart()] });
    expect(steps.filter((step) => step.notice !== '-').map((step) => step.notice)).toEqual([
      'down',
      'recovered',
      'down',
      'recovered',
      'down',
      'recovered',
      'down',
      'recovered',
    ]);
  });

  it('flaps again, loudly once more, after it settled', () => {
    const steps = run({
      checks: [...flaps(flapDowns), ...repeatOk(windowChecks), ...flaps(flapDowns)],
    });
    expect(steps.filter((step) => step.notice !== '-').map((step) => step.notice)).toEqual([
      'down',
      'recovered',
      'down',
      'recovered',
      'flapping',
      'settled',
      'down',
      'recovered',
      'down',
      'recovered',
      'flapping',
    ]);
  });
});

function repeatOk(times: number): Seen[] {
  return Array.from({ length: times }, () => 'ok' as const);
}

function repeatFail(times: number): Seen[] {
  return Array.from({ length: times }, () => 'fail' as const);
}

describe('statusRecord', () => {
  it('is the status, its reason and its time, as stored', () => {
    const [down] = run({ checks: ['fail'], failuresBeforeError: 1 });
    if (down === undefined) throw new Error('no step');
    expect(statusRecord(down.state)).toEqual({
      status: 'error',
      status_reason: down.reason,
      status_since: timeOf(1),
    });
  });
});

describe('describeNotice', () => {
  const notice = (overrides: Partial<HealthNotice>): HealthNotice => ({
    kind: 'down',
    machineId: 'web-1',
    version: 'v2.0.0',
    status: 'error',
    reason: 'fails its health check (GET /healthz answered 503); 2 checks in a row',
    since: Date.UTC(2025, 0, 2, 3, 4, 5),
    ...overrides,
  });

  it.each<{ overrides: Partial<HealthNotice>; expected: string }>([
    {
      overrides: {},
      expected:
        'shop/web-1 (v2.0.0) is down since 2025-01-02T03:04:05.000Z: fails its health check (GET /healthz answered 503); 2 checks in a row',
    },
    {
      overrides: {
        kind: 'blind',
        status: 'unknown',
        reason: 'Prometheus cannot be asked (timeout)',
      },
      expected:
        'shop/web-1 (v2.0.0) cannot be judged since 2025-01-02T03:04:05.000Z: Prometheus cannot be asked (timeout)',
    },
    {
      overrides: { kind: 'recovered', status: 'healthy', reason: 'answers its health check' },
      expected:
        'shop/web-1 (v2.0.0) recovered at 2025-01-02T03:04:05.000Z: healthy, answers its health check',
    },
    {
      overrides: { kind: 'flapping' },
      expected: `shop/web-1 (v2.0.0) is flapping (down ${flapDowns} times within ${flapWindowIntervals} checks), down since 2025-01-02T03:04:05.000Z: fails its health check (GET /healthz answered 503); 2 checks in a row; further changes are announced once it holds a status for ${flapWindowIntervals} checks`,
    },
    {
      overrides: { kind: 'settled', status: 'healthy', reason: 'answers its health check' },
      expected:
        'shop/web-1 (v2.0.0) stopped flapping: healthy since 2025-01-02T03:04:05.000Z (answers its health check)',
    },
    {
      overrides: { kind: 'recovered', version: '', status: 'healthy', reason: 'answers' },
      expected: 'shop/web-1 recovered at 2025-01-02T03:04:05.000Z: healthy, answers',
    },
  ])('$overrides.kind: $expected', ({ overrides, expected }) => {
    expect(describeNotice(notice(overrides), 'shop')).toBe(expected);
  });

  it('renders every kind with the machine and the reason', () => {
    const kinds: HealthNoticeKind[] = ['down', 'blind', 'recovered', 'flapping', 'settled'];
    for (const kind of kinds) {
      const line = describeNotice(notice({ kind, reason: 'the reason' }), 'shop');
      expect(line).toContain('shop/web-1 (v2.0.0)');
      expect(line).toContain('the reason');
    }
  });
});
