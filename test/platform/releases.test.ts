import { describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import {
  assertSafeVersion,
  isTemporaryName,
  parseState,
  releasesToPrune,
  startedState,
  temporaryName,
} from '../../activities/platform/releases';

describe('releasesToPrune', () => {
  const cases: {
    name: string;
    installed: string[];
    history: string[];
    keep: number;
    protect: string[];
    pruned: string[];
  }[] = [
    {
      name: 'fewer than kept',
      installed: ['1', '2'],
      history: ['2', '1'],
      keep: 3,
      protect: ['2'],
      pruned: [],
    },
    {
      name: 'the oldest started go first',
      installed: ['1', '2', '3', '4'],
      history: ['4', '3', '2', '1'],
      keep: 2,
      protect: ['4'],
      pruned: ['2', '1'],
    },
    {
      name: 'a rollback target is newest by start, not by install',
      installed: ['1', '2', '3'],
      history: ['1', '3', '2'],
      keep: 2,
      protect: ['1'],
      pruned: ['2'],
    },
    {
      name: 'never the protected ones, even past the limit',
      installed: ['1', '2', '3'],
      history: ['3', '2'],
      keep: 1,
      protect: ['3', '1'],
      pruned: ['2'],
    },
    {
      name: 'never started counts as oldest',
      installed: ['9', '2', '3'],
      history: ['3', '2'],
      keep: 2,
      protect: ['3'],
      pruned: ['9'],
    },
    {
      name: 'temporary folders are not releases',
      installed: ['1', '1.tmp-0011aabb', '2.old-ffeeddcc'],
      history: ['1'],
      keep: 1,
      protect: ['1'],
      pruned: [],
    },
  ];

  it.each(cases)('$name', ({ installed, history, keep, protect, pruned }) => {
    expect(releasesToPrune({ installed, history, keep, protect })).toEqual(pruned);
  });
});

describe('release naming and state', () => {
  it.each(['1.0.0', 'v2', '2024.11.28-rc.1+build.7', 'A_b'])('accepts version %s', (version) => {
    expect(() => assertSafeVersion(version)).not.toThrow();
  });

  it.each(['', '..', '.hidden', '1/2', 'a b', "1'2", '$(id)', '-rf', 'x'.repeat(200)])(
    'refuses version %j as a BadPackage',
    (version) => {
      try {
        assertSafeVersion(version);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(RelguardError);
        expect((error as RelguardError).type).toBe(FailureType.BadPackage);
      }
    },
  );

  it('recognises its own temporary names', () => {
    expect(isTemporaryName(temporaryName('releases/1.0.0'))).toBe(true);
    expect(isTemporaryName(temporaryName('1.0.0', 'old'))).toBe(true);
    expect(isTemporaryName('1.0.0')).toBe(false);
  });

  it('reads a damaged state file as an empty one', () => {
    expect(parseState(undefined)).toEqual({ history: [] });
    expect(parseState('{not json')).toEqual({ history: [] });
    expect(parseState('{"pid": "12", "history": ["1", 2]}')).toEqual({ history: ['1'] });
  });

  it('keeps the start history newest first without repeats', () => {
    const state = startedState({ history: ['2', '1'] }, '1', 4242, '999');
    expect(state).toMatchObject({ version: '1', pid: 4242, pid_start: '999', history: ['1', '2'] });
  });
});
