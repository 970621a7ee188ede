import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../cli/args';
import { UsageError } from '../../cli/errors';
import { commands } from '../../cli/run';

function parsed(argv: string[]) {
  const result = parseCommandLine(argv, commands);
  if (result.kind !== 'run') throw new Error(`expected a command, got help:\n${result.text}`);
  return result;
}

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, commands);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('the command line', () => {
  it('finds the command and its arguments, with options anywhere', () => {
    const start = parsed(['release', 'start', 'shop', 'v1.2.0', '--gray', 'm2', '--wait']);
    expect(`${start.command.group} ${start.command.name}`).toBe('release start');
    expect(start.input.args).toEqual(['shop', 'v1.2.0']);
    expect(start.input.options).toMatchObject({ gray: 'm2', wait: true });
    expect(start.global).toEqual({ json: false });

    const early = parsed([
      '--api',
      'http://api:3000',
      '--token=secret',
      'app',
      'get',
      'shop',
      '--json',
    ]);
    expect(early.command.name).toBe('get');
    expect(early.input.args).toEqual(['shop']);
    expect(early.global).toEqual({ api: 'http://api:3000', token: 'secret', json: true });

    const create = parsed(['app', 'create', '-f', 'app.yaml']);
    expect(create.input.options.file).toBe('app.yaml');
    const rollback = parsed(['release', 'rollback', 'd1', '--reason', 'p99 doubled']);
    expect(rollback.input).toMatchObject({ args: ['d1'], options: { reason: 'p99 doubled' } });
    // After `--`, a word that looks like an option is an argument.
    expect(parsed(['release', 'status', '--', '-odd-id']).input.args).toEqual(['-odd-id']);
  });

  it('answers --help at every level, and the bare command with the help as an error', () => {
    const top = parseCommandLine(['--help'], commands);
    expect(top).toMatchObject({ kind: 'help' });
    expect(top.kind === 'help' && top.asError).toBeFalsy();
    for (const command of commands) {
      expect(top.kind === 'help' && top.text).toContain(`${command.group} ${command.name}`);
    }
    expect(top.kind === 'help' && top.text).toMatch(/3 +the release ended rolled_back/);

    const group = parseCommandLine(['release', '-h'], commands);
    expect(group.kind === 'help' && group.text).toContain('release watch <deployment>');
    const one = parseCommandLine(['release', 'start', '--help'], commands);
    expect(one.kind === 'help' && one.text).toContain(
      'Usage: relguard release start <app> <version>',
    );
    expect(one.kind === 'help' && one.text).toContain('--gray MACHINE');
    // --help wins over what else is wrong with the line.
    expect(parseCommandLine(['release', 'start', '--help'], commands).kind).toBe('help');
    expect(parseCommandLine(['app', 'create', '--help'], commands).kind).toBe('help');

    const bare = parseCommandLine([], commands);
    expect(bare).toMatchObject({ kind: 'help', asError: true });
  });

  it.each([
    [['deploy'], /unknown command "deploy"/, ''],
    [['release'], /release needs a command: start, status, watch, pause/, 'release'],
    [['release', 'launch', 'shop'], /unknown command "release launch"/, 'release'],
    [['release', 'start', 'shop'], /missing <version>/, 'release start'],
    [['release', 'status'], /missing <deployment>/, 'release status'],
    [['app', 'list', 'extra'], /unexpected argument "extra"/, 'app list'],
    [['app', 'create'], /--file FILE is required/, 'app create'],
    [['app', 'create', '-f'], /-f needs a value/, 'app create'],
    [['release', 'start', 'shop', 'v1', '--gray'], /--gray needs a value/, 'release start'],
    [['release', 'start', 'shop', 'v1', '--grey', 'm1'], /unknown option --grey/, 'release start'],
    [['release', 'watch', 'd1', '--reason', 'x'], /unknown option --reason/, 'release watch'],
    [['app', 'list', '--api', ''], /--api is empty/, 'app list'],
    [['--json'], /no command given/, ''],
  ])('refuses %j', (argv, message, helpFor) => {
    const error = usageError(argv);
    expect(error.message).toMatch(message);
    expect(error.helpFor).toBe(helpFor);
  });
});
