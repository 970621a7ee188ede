import { setTimeout as delay } from 'node:timers/promises';
import { analysisCommands } from './analysis';
import { createApiClient } from './api-client';
import { appCommands } from './app';
import { parseCommandLine } from './args';
import type { CommandContext, CommandSpec, Io } from './context';
import { ApiError, ExitCode, UsageError } from './errors';
import { formatApiError } from './format';
import { packageCommands } from './package';
import { releaseCommands } from './release';
import { resolveSettings, type Env } from './settings';
import { tokenCommands } from './token';

export const commands: CommandSpec[] = [
  ...appCommands,
  ...packageCommands,
  ...releaseCommands,
  ...analysisCommands,
  ...tokenCommands,
];

export interface RunOptions {
  env: Env;
  cwd: string;
  io: Io;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Runs one command line and gives its exit code; every error is printed, never thrown. */
export async function runCli(argv: string[], options: RunOptions): Promise<number> {
  const { io } = options;
  const fail = (lines: string[], code: number) => {
    // A message may span lines (a YAML error shows the line it is about): each gets the prefix.
    for (const line of lines.flatMap((text) => text.trimEnd().split('\n'))) {
      io.stderr.write(`relguard: ${line}\n`);
    }
    return code;
  };
  try {
    const parsed = parseCommandLine(argv, commands);
    if (parsed.kind === 'help') {
      (parsed.asError === true ? io.stderr : io.stdout).write(`${parsed.text}\n`);
      return parsed.asError === true ? ExitCode.usage : ExitCode.ok;
    }
    const settings = resolveSettings({ flags: parsed.global, env: options.env, cwd: options.cwd });
    const context: CommandContext = {
      client: createApiClient({
        baseUrl: settings.apiUrl,
        ...(settings.token === undefined ? {} : { token: settings.token }),
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      }),
      io,
      json: parsed.global.json,
      cwd: options.cwd,
      sleep: options.sleep ?? ((ms) => delay(ms)),
      now: options.now ?? Date.now,
    };
    return await parsed.command.run(context, parsed.input);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = error.helpFor === '' ? 'relguard --help' : `relguard ${error.helpFor} --help`;
      return fail([error.message, `see ${help}`], ExitCode.usage);
    }
    if (error instanceof ApiError) return fail(formatApiError(error), ExitCode.api);
    // An answer of a shape the CLI does not expect (an api of another version, say): what
    // went wrong in a line, not a stack.
    const message = error instanceof Error ? error.message : String(error);
    return fail([`unexpected error: ${message}`], ExitCode.api);
  }
}
