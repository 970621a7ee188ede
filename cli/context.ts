import type { ApiClient } from './api-client';

/** Where output goes; a test gives strings, the process gives its streams. */
export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown };
  /** The whole of stdin, for `app create -f -`. */
  readStdin(): Promise<string>;
}

export interface CommandContext {
  client: ApiClient;
  io: Io;
  /** `--json`: print the api's JSON as it came, and nothing else on stdout. */
  json: boolean;
  cwd: string;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's name in the help, e.g. `MACHINE`. */
  value?: string;
  description: string;
  required?: boolean;
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandInput {
  args: string[];
  options: OptionValues;
}

export interface CommandSpec {
  group: string;
  name: string;
  /** Positional arguments as the help shows them, e.g. `<app>`; every one is required. */
  args: string[];
  summary: string;
  /** More help, shown by `--help` below the usage line. */
  description?: string;
  options?: Record<string, OptionSpec>;
  run(context: CommandContext, input: CommandInput): Promise<number>;
}

/** Lines to stdout, or to stderr when `--json` keeps stdout for the JSON alone. */
export function say(context: CommandContext, ...lines: string[]): void {
  const stream = context.json ? context.io.stderr : context.io.stdout;
  for (const line of lines) stream.write(`${line}\n`);
}

export function printJson(context: CommandContext, value: unknown): void {
  context.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function stringOption(input: CommandInput, name: string): string | undefined {
  const value = input.options[name];
  return typeof value === 'string' ? value : undefined;
}

export function flagOption(input: CommandInput, name: string): boolean {
  return input.options[name] === true;
}
