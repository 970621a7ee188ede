import { z } from './zod';

/** A version's longest form. */
export const maxVersionLength = 128;

/**
 * What makes a string no version, with the reason; undefined for a good one. A version is a
 * git tag name (it passes `git check-ref-format`) that is also safe everywhere relguard puts
 * it: workflow ids, store keys, package file names, folders on machines and git's command
 * line. So: 1 to 128 ASCII letters, digits, `.`, `_`, `+` and `-`, starting with a letter or
 * digit, without `..`, not ending with `.` or `.lock`. This is the one grammar: the api, the
 * GitHub webhook, the CLI and the package build all check it here.
 */
export function versionProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > maxVersionLength) return `must be at most ${maxVersionLength} characters`;
  const other = /[^A-Za-z0-9._+-]/u.exec(value);
  if (other !== null) {
    return `must contain only letters, digits, ".", "_", "+" and "-", not ${shown(other[0])}`;
  }
  if (!/^[A-Za-z0-9]/u.test(value)) return 'must start with a letter or a digit';
  if (value.includes('..')) return 'must not contain ".."';
  if (value.endsWith('.lock')) return 'must not end with ".lock"';
  if (value.endsWith('.')) return 'must not end with "."';
  return undefined;
}

/** A character as a message can show it: printable ASCII quoted, anything else as U+XXXX. */
function shown(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  return code > 0x20 && code < 0x7f
    ? JSON.stringify(character)
    : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The same rules as one pattern, for the OpenAPI document (clients check before they send). */
export const versionPattern =
  '^(?!.*\\.\\.)(?!.*\\.lock$)(?!.*\\.$)[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$';

/** A version (see versionProblem); a 422 names the rule a value breaks. */
export const Version = z
  .string()
  .superRefine((value, context) => {
    const problem = versionProblem(value);
    if (problem !== undefined) {
      context.addIssue({ code: 'custom', message: `a version (a git tag name) ${problem}` });
    }
  })
  .openapi({
    description:
      'A git tag name that is safe everywhere relguard puts it: 1 to 128 ASCII letters, digits, `.`, `_`, `+` and `-`, starting with a letter or digit, without `..`, not ending with `.` or `.lock`.',
    pattern: versionPattern,
    minLength: 1,
    maxLength: maxVersionLength,
    example: 'v1.2.0',
  });
