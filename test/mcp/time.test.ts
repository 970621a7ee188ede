import { describe, expect, it } from 'vitest';
import { defaultStepSeconds } from '../../activities/metrics';
import { parseDuration, parseTime, TimeInputError } from '../../mcp/time';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('parseTime', () => {
  it.each([
    ['now', NOW],
    ['NOW', NOW],
    ['now-1h', NOW - 3_600_000],
    ['now - 30m', NOW - 1_800_000],
    ['now-1h30m', NOW - 5_400_000],
    ['now+5m', NOW + 300_000],
    ['2024-05-01T11:00:00Z', NOW - 3_600_000],
    ['2024-05-01T11:00:00.250Z', NOW - 3_599_750],
    ['2024-05-01T13:00:00+02:00', NOW - 3_600_000],
    ['1714564800', NOW],
    ['1714564800.5', NOW + 500],
  ])('%s', (text, expected) => {
    expect(parseTime(text, NOW)).toBe(expected);
  });

  it.each([
    ['yesterday'],
    ['now-'],
    ['now-1x'],
    ['now-0s'],
    ['2024-05-01T11:00:00'],
    ['2024-05-01'],
    ['-5'],
    [''],
  ])('refuses %j, naming it and what would do', (text) => {
    expect(() => parseTime(text, NOW)).toThrow(TimeInputError);
    expect(() => parseTime(text, NOW)).toThrow(`invalid time "${text}": use now, now-<duration>`);
  });
});

describe('parseDuration', () => {
  it.each([
    ['15s', 15],
    ['1m', 60],
    ['1h30m', 5400],
    ['500ms', 0.5],
    ['1d', 86_400],
    ['2w', 1_209_600],
    ['30', 30],
    ['0.5', 0.5],
  ])('%s is %d s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each([['0s'], ['0'], ['5 minutes'], ['m'], ['-1m'], ['1.5.5s']])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(`invalid duration "${text}"`);
  });
});

describe('defaultStepSeconds', () => {
  it.each([
    [0, 1],
    [60_000, 1],
    [3_600_000, 15],
    [86_400_000, 360],
    [-5_000, 1],
  ])('a range of %d ms gets a step of %d s', (rangeMs, step) => {
    expect(defaultStepSeconds(NOW, NOW + rangeMs)).toBe(step);
  });
});
