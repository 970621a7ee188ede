import { parseArgs } from 'node:util';
import { z } from 'zod';
import { issueDetails } from './errors';

export const usage = `usage: mockserver [--port N] [--host H] [--app NAME] [--app-version V]
                  [--instance ID] [--config FILE] [--disk-dir DIR] [--log-level LEVEL]
                  [--no-baseline-latency]
env: PORT HOST RELGUARD_APP RELGUARD_VERSION RELGUARD_MACHINE_ID RELGUARD_DEPLOY_PATH LOG_LEVEL
(flags win over the environment)`;

const optionsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65_535).default(4000),
  host: z.string().min(1).default('127.0.0.1'),
  app: z.string().min(1).default('mockserver'),
  version: z.string().min(1).default('dev'),
  instance: z.string().min(1).optional(),
  deployPath: z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  diskDir: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  baselineLatency: z.boolean().default(true),
  help: z.boolean().default(false),
});
export type CliOptions = z.output<typeof optionsSchema>;

// Where each option may come from, for messages that name what the user actually set.
const sources: Record<string, string> = {
  port: '--port / PORT',
  host: '--host / HOST',
  app: '--app / RELGUARD_APP',
  version: '--app-version / RELGUARD_VERSION',
  instance: '--instance / RELGUARD_MACHINE_ID',
  deployPath: 'RELGUARD_DEPLOY_PATH',
  logLevel: '--log-level / LOG_LEVEL',
};

/** Flags over environment over defaults; throws an Error naming the bad flag or variable. */
export function parseCliOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      app: { type: 'string' },
      'app-version': { type: 'string' },
      instance: { type: 'string' },
      config: { type: 'string' },
      'disk-dir': { type: 'string' },
      'log-level': { type: 'string' },
      'no-baseline-latency': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const nonEmpty = (value: string | undefined): string | undefined =>
    value === undefined || value === '' ? undefined : value;
  const parsed = optionsSchema.safeParse({
    port: values.port ?? nonEmpty(env.PORT),
    host: values.host ?? nonEmpty(env.HOST),
    app: values.app ?? nonEmpty(env.RELGUARD_APP),
    version: values['app-version'] ?? nonEmpty(env.RELGUARD_VERSION),
    instance: values.instance ?? nonEmpty(env.RELGUARD_MACHINE_ID),
    deployPath: nonEmpty(env.RELGUARD_DEPLOY_PATH),
    config: values.config,
    diskDir: values['disk-dir'],
    logLevel: values['log-level'] ?? nonEmpty(env.LOG_LEVEL),
    baselineLatency: values['no-baseline-latency'] === true ? false : undefined,
    help: values.help,
  });
  if (!parsed.success) {
    const problems = issueDetails(parsed.error, '').map((issue) => {
      const name = sources[issue.parameter] ?? `--${issue.parameter}`;
      return `${name}: ${issue.message}`;
    });
    throw new Error(`invalid option ${problems.join('; ')}`);
  }
  return parsed.data;
}
