import { channelNameProblem, NotifyChannel } from './alert';
import { z } from './zod';

/**
 * relguard's configuration: every environment variable it reads, with its default.
 * Entry points call loadConfig(process.env) once; nothing else reads the environment.
 * README.md lists the same variables; a test keeps the two in step.
 */
const port = z.coerce.number().int().min(1).max(65535);
const url = z.url();

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

export const configSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('relguard'),
  TEMPORAL_UI_URL: url.default('http://127.0.0.1:8233'),
  /**
   * TLS to Temporal. Unset, it is on as soon as any TEMPORAL_TLS_* file, the server name or
   * TEMPORAL_API_KEY is set; false turns it off (an API key then goes in plain text, e.g. to a
   * local TLS-terminating sidecar).
   */
  TEMPORAL_TLS: flag.optional(),
  /** The CA that signed the Temporal server's certificate (PEM); the system's CAs when unset. */
  TEMPORAL_TLS_CA_FILE: z.string().min(1).optional(),
  /** The client certificate and its private key (PEM) for mTLS; one needs the other. */
  TEMPORAL_TLS_CERT_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_FILE: z.string().min(1).optional(),
  /** The name the server's certificate is checked against (SNI), when not the address' host. */
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** Temporal Cloud's API key, sent as `authorization: Bearer`. A secret: never logged. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/'),
  MONGODB_DB: z.string().min(1).default('relguard'),
  MONGODB_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  /**
   * Writes (POST, PUT, PATCH, DELETE) one api token may make per minute, in bursts of as many;
   * more are answered 429 with Retry-After. 0 turns the limit off.
   */
  API_WRITE_RATE_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  PROMETHEUS_URL: url.default('http://127.0.0.1:9090'),
  /** Prometheus behind a proxy: a bearer token, or a basic-auth pair; never logged. */
  PROMETHEUS_BEARER_TOKEN: z.string().min(1).optional(),
  PROMETHEUS_USERNAME: z.string().min(1).optional(),
  PROMETHEUS_PASSWORD: z.string().min(1).optional(),
  /**
   * How often Prometheus scrapes the machines relguard deploys (temporal-dev.sh sets it to its
   * RELGUARD_SCRAPE_INTERVAL). The metric guard derives from it how long a new machine has no
   * data, and the api refuses rate windows too short to ever hold two scrapes.
   */
  PROMETHEUS_SCRAPE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(15),
  /**
   * How long one Prometheus query (the guard's, the health checks', the console's charts) may
   * take, answer included; past it the query is an error that names it ("cannot judge").
   */
  PROMETHEUS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(10),
  ALERTMANAGER_URL: url.default('http://127.0.0.1:9093'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

  /** Where packages are built (a work folder per build; removed after). */
  BUILD_DIR: z.string().min(1).default('.relguard/builds'),
  /**
   * How long a build's git fetch of a tag may take; past it git is stopped and the build fails
   * naming the repository (a remote that accepts the connection and never answers).
   */
  GIT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /**
   * The user build_cmd, start_cmd and stop_cmd of the local platform run as (a name or a uid);
   * the worker's own user when unset. The worker must run as root to switch to it, and refuses
   * to start when it cannot.
   */
  RELGUARD_RUN_AS: z.string().min(1).optional(),
  /**
   * More variables of the worker's environment passed to build_cmd, start_cmd and stop_cmd
   * (comma-separated names, e.g. HTTPS_PROXY,NO_PROXY); relguard's own variables cannot be.
   */
  RELGUARD_COMMAND_ENV: z
    .string()
    .default('')
    .transform((text) =>
      text
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    )
    .pipe(
      z.array(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be comma-separated variable names'),
      ),
    ),
  PACKAGE_STORE: z.enum(['local', 'kodo']).default('local'),
  /** The local store's folder; the api serves it at PACKAGE_BASE_URL. */
  PACKAGE_DIR: z.string().min(1).default('.relguard/packages'),
  PACKAGE_BASE_URL: url.default('http://127.0.0.1:3000/packages'),
  /** How long a signed download URL handed to a machine stays valid. */
  PACKAGE_URL_TTL_SECONDS: z.coerce.number().int().min(60).default(3600),
  /**
   * The HMAC key that signs the local store's download URLs (the api serves /packages only to
   * them). Unset, the api and the worker share a random one kept in <PACKAGE_DIR>/.url-secret
   * (mode 0600, made on first start). A secret: never logged.
   */
  PACKAGE_URL_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)')
    .optional(),
  /** Largest a package may unpack to (its tar stream), checked before anything is extracted. */
  ARCHIVE_MAX_UNPACKED_MB: z.coerce.number().int().min(1).default(4096),
  /** Most entries (files, folders, links) a package may hold. */
  ARCHIVE_MAX_ENTRIES: z.coerce.number().int().min(1).default(200_000),
  KODO_ACCESS_KEY: z.string().min(1).optional(),
  KODO_SECRET_KEY: z.string().min(1).optional(),
  KODO_BUCKET: z.string().min(1).optional(),
  /** The bucket's download domain, with its scheme, e.g. https://dl.example.com. */
  KODO_DOMAIN: url.optional(),
  /** The upload host, with its scheme; by default the SDK finds it from the bucket's region. */
  KODO_UP_HOST: url.optional(),
  KODO_PRIVATE: flag.default(true),
  /** Files at least this large are uploaded in resumable parts instead of one form upload. */
  KODO_RESUMABLE_MB: z.coerce.number().min(1).default(8),
  /** Largest package the api takes in an upload (PUT /api/v1/applications/:id/packages/:version). */
  PACKAGE_UPLOAD_MAX_MB: z.coerce.number().int().min(1).default(512),
  /**
   * How long one upload of a package to the store (Kodo) may take; past it the build or the
   * upload fails naming the key. A build's whole activity has 30 minutes: keep it below that.
   */
  PACKAGE_UPLOAD_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(1500).default(900),
  /**
   * How long the download of a package for a machine may take, body included; past it the
   * machine's deploy fails naming the package and the store (a store that stops sending).
   * A deploy of a machine has 15 minutes in all: keep it below that.
   */
  PACKAGE_DOWNLOAD_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(840).default(600),
  /** Releases kept on each machine for instant rollback. */
  DEPLOY_RELEASES_KEPT: z.coerce.number().int().min(2).default(3),
  /**
   * The ssh platform's trust in host keys. strict: only keys in a known_hosts file or pinned in
   * a machine's ssh.host_key_sha256; accept-new: a machine nothing is known of has its first
   * key pinned in MongoDB (trust on first use, logged as a warning; for labs).
   */
  SSH_HOST_KEY_POLICY: z.enum(['strict', 'accept-new']).default('strict'),
  /** The known_hosts file (OpenSSH's format, hashed names too) for every ssh machine. */
  SSH_KNOWN_HOSTS_FILE: z.string().min(1).optional(),
  /** From the TCP connect to a logged-in ssh session. */
  SSH_CONNECT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  /** How long one command relguard runs on a machine over ssh may take. */
  SSH_COMMAND_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Where relguard writes the Prometheus file-SD targets of the machines it deploys. */
  PROMETHEUS_TARGETS_DIR: z.string().min(1).default('.relguard/prometheus/targets'),
  /**
   * Notification channels by name, as JSON: {"oncall": {"type": "slack", "url": "..."}}.
   * Applications name theirs in rollback_policy.notify.
   */
  NOTIFY_CHANNELS: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of channels by name' });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(z.string().min(1), NotifyChannel).superRefine((channels, ctx) => {
        for (const name of Object.keys(channels)) {
          const problem = channelNameProblem(name);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        }
      }),
    ),
  /** The api's URL as people reach it, for the links in alerts and /openapi.json's server. */
  API_PUBLIC_URL: url.default('http://127.0.0.1:3000'),
  /**
   * The web console as people reach it, for the links in alerts (a release's page, an
   * application's). Unset, `<API_PUBLIC_URL>/console` (the api serves it there).
   */
  CONSOLE_PUBLIC_URL: url.optional(),
  /**
   * Reads a release's pull requests from the GitHub API; without it they come from git.
   * A secret: sent to GITHUB_API_URL only, never logged, never in a result or message.
   */
  GITHUB_TOKEN: z.string().min(1).optional(),
  /** https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
  GITHUB_API_URL: url.default('https://api.github.com'),
  /**
   * The GitHub webhook's secret: deliveries are accepted only with its HMAC signature, and
   * refused while it is unset. A secret: never logged, never in a response.
   */
  GITHUB_WEBHOOK_SECRET: z.string().min(1).optional(),
  /**
   * The AI analysis: any OpenAI-compatible endpoint. Without OPENAI_MODEL the heuristic
   * analyzer writes every report; with it, the LLM does and the heuristic is the fallback.
   */
  OPENAI_BASE_URL: url.default('https://api.openai.com/v1'),
  /** A secret: sent to OPENAI_BASE_URL only, never in a prompt or a log. */
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_MODEL: z.string().min(1).optional(),
  /** Bounds of one LLM investigation. */
  ANALYSIS_MAX_TOOL_CALLS: z.coerce.number().int().min(0).max(100).default(12),
  ANALYSIS_MAX_TOKENS: z.coerce.number().int().min(1000).default(60_000),
  ANALYSIS_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  /** How long one request to the LLM may take, its answer and the client's retries included. */
  ANALYSIS_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  /** How recent a release must be for an Alertmanager alert of its application to analyse it. */
  ALERT_ANALYSIS_LOOKBACK_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(6 * 3600),
  /**
   * The labels of an Alertmanager alert that name the application and the machine it fires for
   * (the machine's id, `host:port` or host): such an alert marks the machine `alert`.
   */
  ALERT_APP_LABEL: z.string().min(1).default('app'),
  ALERT_INSTANCE_LABEL: z.string().min(1).default('instance'),
});

/**
 * One way to authenticate to Prometheus: a bearer token, or a username with its password.
 * Shared with mcp/config.ts, which reads the same variables.
 */
export function checkPrometheusAuth(
  config: {
    PROMETHEUS_BEARER_TOKEN?: string | undefined;
    PROMETHEUS_USERNAME?: string | undefined;
    PROMETHEUS_PASSWORD?: string | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const {
    PROMETHEUS_BEARER_TOKEN: token,
    PROMETHEUS_USERNAME: user,
    PROMETHEUS_PASSWORD: pass,
  } = config;
  if (user !== undefined && pass === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['PROMETHEUS_PASSWORD'],
      message: 'required with PROMETHEUS_USERNAME',
    });
  }
  if (pass !== undefined && user === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['PROMETHEUS_USERNAME'],
      message: 'required with PROMETHEUS_PASSWORD',
    });
  }
  if (token !== undefined && (user !== undefined || pass !== undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['PROMETHEUS_BEARER_TOKEN'],
      message: 'set either PROMETHEUS_BEARER_TOKEN or PROMETHEUS_USERNAME/PASSWORD, not both',
    });
  }
}

/** Settings that only matter together with another one. */
/** A client certificate goes with its key, and TLS files make no sense with TLS off. */
function checkTemporalTls(config: z.infer<typeof configSchema>, ctx: z.RefinementCtx): void {
  const { TEMPORAL_TLS_CERT_FILE: cert, TEMPORAL_TLS_KEY_FILE: key } = config;
  if (cert !== undefined && key === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['TEMPORAL_TLS_KEY_FILE'],
      message: 'required with TEMPORAL_TLS_CERT_FILE (a client certificate needs its private key)',
    });
  }
  if (key !== undefined && cert === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['TEMPORAL_TLS_CERT_FILE'],
      message: 'required with TEMPORAL_TLS_KEY_FILE (a private key needs its client certificate)',
    });
  }
  if (config.TEMPORAL_TLS === false) {
    const tlsSettings = [
      'TEMPORAL_TLS_CA_FILE',
      'TEMPORAL_TLS_CERT_FILE',
      'TEMPORAL_TLS_KEY_FILE',
      'TEMPORAL_TLS_SERVER_NAME',
    ] as const;
    const set = tlsSettings.filter((name) => config[name] !== undefined);
    if (set.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS'],
        message: `is false, but ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set: remove TEMPORAL_TLS=false to use TLS`,
      });
    }
  }
}

function checkDependentSettings(config: z.infer<typeof configSchema>, ctx: z.RefinementCtx): void {
  checkPrometheusAuth(config, ctx);
  checkTemporalTls(config, ctx);
  for (const name of config.RELGUARD_COMMAND_ENV) {
    if ((configVariables as readonly string[]).includes(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['RELGUARD_COMMAND_ENV'],
        message: `${name} is relguard's own setting: it is never passed to an application's commands`,
      });
    }
  }
  if (config.PACKAGE_STORE === 'kodo') {
    for (const name of [
      'KODO_ACCESS_KEY',
      'KODO_SECRET_KEY',
      'KODO_BUCKET',
      'KODO_DOMAIN',
    ] as const) {
      if (config[name] === undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when PACKAGE_STORE=kodo' });
      }
    }
  }
}

const validatedConfig = configSchema.superRefine(checkDependentSettings);

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

/**
 * Reads `variables` from the environment through `schema` (an empty value counts as unset);
 * throws a ConfigError that names every bad variable.
 */
export function parseEnvironment<T>(
  schema: z.ZodType<T>,
  variables: readonly string[],
  env: Record<string, string | undefined>,
): T {
  const present = Object.fromEntries(
    variables
      .map((name) => [name, env[name]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
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

/** Validates the environment; throws a ConfigError that names every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = parseEnvironment(validatedConfig, configVariables, env);
  return { ...config, CONSOLE_PUBLIC_URL: consolePublicUrl(config) };
}

/** The console's public URL, without a trailing slash: CONSOLE_PUBLIC_URL or its default. */
export function consolePublicUrl(
  config: Pick<Config, 'API_PUBLIC_URL' | 'CONSOLE_PUBLIC_URL'>,
): string {
  return (
    config.CONSOLE_PUBLIC_URL ?? `${config.API_PUBLIC_URL.replace(/\/+$/, '')}/console`
  ).replace(/\/+$/, '');
}
