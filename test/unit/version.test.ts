import { describe, expect, it } from 'vitest';
import { Version, versionPattern, versionProblem } from '../../domain/version';
import { versionArg } from '../../cli/args';
import { UsageError } from '../../cli/errors';

const accepted = [
  'v1.2.0',
  '1.0.0',
  'v1.0.0-rc.1',
  '1.0.0+build.5',
  'release_2026-12-07',
  'v2',
  'V1.LOCKED',
  'x'.repeat(128),
];

const refused: [string, string][] = [
  ['', 'must not be empty'],
  ['\u0094\u0000', 'not U+0094'],
  ['\b\u001d', 'not U+0008'],
  ['v1\u0000', 'not U+0000'],
  ['v1\u007f', 'not U+007F'],
  ['v1 2', 'not U+0020'],
  ['v1\t2', 'not U+0009'],
  ['v1..2', 'must not contain ".."'],
  ['v1~1', 'not "~"'],
  ['v1^', 'not "^"'],
  ['v1:2', 'not ":"'],
  ['v1?', 'not "?"'],
  ['v1*', 'not "*"'],
  ['v1[2', 'not "["'],
  ['v1\\2', 'not "\\\\"'],
  ['v1@{2', 'not "@"'],
  ['release/1.0', 'not "/"'],
  ['ünïcode-1', 'not U+00FC'],
  ['-rf', 'must start with a letter or a digit'],
  ['.hidden', 'must start with a letter or a digit'],
  ['_x', 'must start with a letter or a digit'],
  ['v1.', 'must not end with "."'],
  ['v1.lock', 'must not end with ".lock"'],
  ['x'.repeat(129), 'at most 128 characters'],
];

describe('a version: a git tag name safe everywhere relguard puts it', () => {
  it.each(accepted)('accepts %j', (value) => {
    expect(versionProblem(value)).toBeUndefined();
    expect(Version.safeParse(value).success).toBe(true);
  });

  it.each(refused)('refuses %j: it %s', (value, reason) => {
    expect(versionProblem(value)).toContain(reason);
    const parsed = Version.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message).join('; ')).toContain(
      `a version (a git tag name) ${reason.startsWith('not ') ? 'must contain only' : ''}`,
    );
  });

  it('says in its OpenAPI pattern what the function says, case by case', () => {
    const pattern = new RegExp(versionPattern, 'u');
    for (const value of accepted) expect(pattern.test(value), JSON.stringify(value)).toBe(true);
    for (const [value] of refused) expect(pattern.test(value), JSON.stringify(value)).toBe(false);
  });

  it('refuses a bad version argument in the CLI before anything is sent', () => {
    expect(versionArg('v1.2.0', 'release start')).toBe('v1.2.0');
    expect(() => versionArg('v1..2', 'release start')).toThrow(UsageError);
    expect(() => versionArg('v1 2', 'package build')).toThrow(
      /"v1 2" is no version: a version must contain only letters, digits, "\.", "_", "\+" and "-", not U\+0020/,
    );
  });
});
