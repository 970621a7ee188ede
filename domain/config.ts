import { z } from './zod';

/**
 * relguard's configuration: every environment variable it reads, with its default.
 * Entry points call loadConfig(process.env) once; nothing else reads the environment.
 * README.md lists the same variables; a test keeps the two in step.
 */
const port = z.coerce.number().int().min(1).max(65535);
const url = z.url();

export const configSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('relguard'),
  TEMPORAL_UI_URL: url.default('http://127.0.0.1:8233'),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/'),
  MONGODB_DB: z.string().min(1).default('relguard'),
  MONGODB_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  PROMETHEUS_URL: url.default('http://127.0.0.1:9090'),
  ALERTMANAGER_URL: url.default('http://127.0.0.1:9093'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigVariable = keyof Config;
export const configVariables = Object.keys(configSchema.shape) as ConfigVariable[];

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      'invalid configuration:\n' + problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Validates the environment; throws a ConfigError that names every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    configVariables
      .map((name) => [name, env[name]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: issue.path.join('.'),
        message: issue.message,
      })),
    );
  }
  return parsed.data;
}
