import { parseArgs } from 'node:util';
import type { CommandInput, CommandSpec, OptionSpec } from './context';
import { UsageError } from './errors';
import { versionProblem } from '../domain/version';

/** Accepted by every command, before or after its name. */
export const globalOptions: Record<string, OptionSpec> = {
  api: {
    type: 'string',
    value: 'URL',
    description: 'the relguard api (default $RELGUARD_API_URL, else http://127.0.0.1:3000)',
  },
  token: {
    type: 'string',
    value: 'TOKEN',
    description: 'api token (default $RELGUARD_TOKEN, else .relguard/token here or above)',
  },
  json: { type: 'boolean', description: "print the api's JSON and nothing else on stdout" },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export interface GlobalFlags {
  api?: string;
  token?: string;
  json: boolean;
}

export type ParsedCommandLine =
  /** `asError`: no command at all, so the help is the usage error's message. */
  | { kind: 'help'; text: string; asError?: boolean }
  | { kind: 'run'; command: CommandSpec; input: CommandInput; global: GlobalFlags };

/**
 * Finds the command (`<group> <name>`) and parses its arguments strictly: an unknown option,
 * a missing value or a wrong number of arguments is a UsageError naming it.
 */
export function parseCommandLine(argv: string[], commands: CommandSpec[]): ParsedCommandLine {
  const words = leadingWords(argv);
  const [groupWord, nameWord] = words;
  const wantsHelp = argv.some((arg) => arg === '--help' || arg === '-h');
  const groups = [...new Set(commands.map((command) => command.group))];

  if (groupWord === undefined) {
    if (wantsHelp) return { kind: 'help', text: topHelp(commands) };
    if (argv.length === 0) return { kind: 'help', text: topHelp(commands), asError: true };
    throw new UsageError('no command given');
  }
  if (!groups.includes(groupWord.word)) {
    throw new UsageError(`unknown command "${groupWord.word}"`);
  }
  const inGroup = commands.filter((command) => command.group === groupWord.word);
  if (nameWord === undefined) {
    if (wantsHelp) return { kind: 'help', text: groupHelp(groupWord.word, inGroup) };
    throw new UsageError(
      `relguard ${groupWord.word} needs a command: ${inGroup.map((c) => c.name).join(', ')}`,
      groupWord.word,
    );
  }
  const command = inGroup.find((candidate) => candidate.name === nameWord.word);
  if (command === undefined) {
    throw new UsageError(
      `unknown command "${groupWord.word} ${nameWord.word}"; try ${inGroup.map((c) => c.name).join(', ')}`,
      groupWord.word,
    );
  }
  const commandName = `${command.group} ${command.name}`;
  const rest = argv.filter((_, index) => index !== groupWord.index && index !== nameWord.index);
  const options = { ...globalOptions, ...command.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          { type: spec.type, ...(spec.short === undefined ? {} : { short: spec.short }) },
        ]),
      ),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(parseArgsMessage(error), commandName);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { kind: 'help', text: commandHelp(command) };

  const args = parsed.positionals;
  const missing = command.args.slice(args.length);
  if (missing.length > 0) {
    throw new UsageError(`missing ${missing.join(' ')}`, commandName);
  }
  if (args.length > command.args.length) {
    throw new UsageError(`unexpected argument "${args[command.args.length] ?? ''}"`, commandName);
  }
  for (const [name, spec] of Object.entries(command.options ?? {})) {
    if (spec.required === true && values[name] === undefined) {
      throw new UsageError(`--${name} ${spec.value ?? ''} is required`.trimEnd(), commandName);
    }
    if (spec.type === 'string' && values[name] === '') {
      throw new UsageError(`--${name} is empty`, commandName);
    }
  }
  for (const name of ['api', 'token'] as const) {
    if (values[name] === '') throw new UsageError(`--${name} is empty`, commandName);
  }
  const global: GlobalFlags = { json: values.json === true };
  if (typeof values.api === 'string') global.api = values.api;
  if (typeof values.token === 'string') global.token = values.token;
  return { kind: 'run', command, input: { args, options: values }, global };
}

/**
 * The first two words that are not options, with where they are: the group and the command.
 * A value of a global option is skipped so that `--api URL app list` finds `app`.
 */
function leadingWords(argv: string[]): { word: string; index: number }[] {
  const words: { word: string; index: number }[] = [];
  for (let index = 0; index < argv.length && words.length < 2; index++) {
    const arg = argv[index]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (arg === '--api' || arg === '--token') index++;
      continue;
    }
    words.push({ word: arg, index });
  }
  return words;
}

function parseArgsMessage(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1];
    return option === undefined ? message : `unknown option ${option}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /'(--?[\w-]+)/.exec(message)?.[1];
    return option === undefined ? message : `${option} needs a value`;
  }
  return message;
}

const exitCodesHelp = [
  'Exit codes:',
  '  0  success',
  '  1  usage error (bad arguments, settings or input file)',
  '  2  api error (4xx/5xx, unreachable)',
  '  3  the release ended rolled_back',
  '  4  the release ended failed',
  '  5  the release ended cancelled',
];

function usageLine(command: CommandSpec): string {
  const required = Object.entries(command.options ?? {})
    .filter(([, spec]) => spec.required === true)
    .map(([name, spec]) =>
      `${spec.short === undefined ? `--${name}` : `-${spec.short}`} ${spec.value ?? ''}`.trimEnd(),
    );
  return [command.group, command.name, ...required, ...command.args].join(' ');
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const entries = Object.entries(options).map(([name, spec]) => {
    const short = spec.short === undefined ? '' : `-${spec.short}, `;
    const value = spec.value === undefined ? '' : ` ${spec.value}`;
    return [`${short}--${name}${value}`, spec.description] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

function commandList(commands: CommandSpec[]): string[] {
  const lines = commands.map((command) => [usageLine(command), command.summary] as const);
  const width = Math.max(...lines.map(([usage]) => usage.length));
  return lines.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`);
}

export function topHelp(commands: CommandSpec[]): string {
  return [
    'relguard: releases on Temporal with a metric guard and AI analysis, over the REST api',
    '',
    'Usage: relguard <command> [options]',
    '',
    'Commands:',
    ...commandList(commands),
    '',
    'Options (every command):',
    ...optionLines(globalOptions),
    '',
    ...exitCodesHelp,
    '',
    'relguard <command> --help shows what a command takes.',
  ].join('\n');
}

function groupHelp(group: string, commands: CommandSpec[]): string {
  return [
    `Usage: relguard ${group} <command> [options]`,
    '',
    'Commands:',
    ...commandList(commands),
    '',
    'Options (every command):',
    ...optionLines(globalOptions),
  ].join('\n');
}

export function commandHelp(command: CommandSpec): string {
  const own = command.options ?? {};
  return [
    `Usage: relguard ${usageLine(command)}${Object.keys(own).length > 0 ? ' [options]' : ''}`,
    '',
    command.summary,
    ...(command.description === undefined ? [] : ['', command.description]),
    ...(Object.keys(own).length > 0 ? ['', 'Options:', ...optionLines(own)] : []),
    '',
    'Options (every command):',
    ...optionLines(globalOptions),
    '',
    ...exitCodesHelp,
  ].join('\n');
}

/**
 * The `<version>` argument of `command`, checked before anything is sent: a version is a git
 * tag name in one piece (domain/version.ts), and a bad one never reaches the api.
 */
export function versionArg(version: string, command: string): string {
  const problem = versionProblem(version);
  if (problem !== undefined) {
    throw new UsageError(`${JSON.stringify(version)} is no version: a version ${problem}`, command);
  }
  return version;
}
