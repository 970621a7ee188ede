import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../activities/platform/shell-quote';

const run = promisify(execFile);

const awkward = [
  '',
  'plain',
  'with space',
  "it's",
  "''",
  '"double"',
  '$HOME',
  '${PATH}',
  '`id`',
  '$(id)',
  'a;b',
  'a && b',
  'a|b',
  '*',
  '?',
  '~',
  '-n',
  '\\',
  'back\\slash',
  'line\nbreak',
  'tab\there',
  '#comment',
  '!bang',
  'unicode é ✓',
  'mixed \'single\' and "double" $and `more`',
];

/** What `shell` reads back from the words, one per NUL-terminated record. */
async function roundTrip(shell: string, script: string): Promise<string[]> {
  const { stdout } = await run(shell, ['-c', script]);
  return stdout.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it('leaves plain words readable and quotes the rest', () => {
    expect(shellQuote('releases/1.2.3')).toBe('releases/1.2.3');
    expect(shellQuote('PORT=8080')).toBe('PORT=8080');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it.each(['sh', 'bash'])('round-trips awkward values through %s', async (shell) => {
    const words = await roundTrip(shell, `printf '%s\\0' ${shellCommand(awkward)}`);
    expect(words).toEqual(awkward);
  });

  it('survives a second level of quoting, as commands sent over ssh do', async () => {
    const inner = `printf '%s\\0' ${shellCommand(awkward)}`;
    const words = await roundTrip('sh', `sh -c ${shellQuote(inner)}`);
    expect(words).toEqual(awkward);
  });
});
