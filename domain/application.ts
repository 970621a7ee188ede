import { channelNamePattern } from './alert';
import { integer, openApi31, z, type JsonSchema } from './zod';

/**
 * An application and the shapes it holds. Field names are the seed's and stay the same in
 * MongoDB (bson) and JSON; `id` is stored as `_id` (see activities/db).
 */

/**
 * Machine and RED-metric labels become Prometheus labels (file-SD targets, selectors), and
 * MongoDB field names: `a.b` or `$a` would be refused by the store.
 */
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const prometheusLabels = z
  .record(
    z.string().regex(labelName, 'not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)'),
    z.string(),
  )
  .openapi(openApi31({ propertyNames: { pattern: labelName.source } }));

/**
 * Labels a machine's Prometheus target gets beside relguard's own. They may not claim what
 * relguard sets (`app`, `version`, `instance`: the guard selects by them), the scrape `job`
 * (the alert rules select `job="relguard-nodes"`), nor Prometheus' reserved `__` names
 * (`__metrics_path__`, `__address__`: they would change what is scraped).
 */
const reservedTargetLabels = ['app', 'version', 'instance', 'job'];
/** The same rule as one pattern, for the OpenAPI document's `propertyNames`. */
export const machineLabelPattern = `^(?!(?:${reservedTargetLabels.join('|')})$)(?!__)${labelName.source.slice(1)}`;
const machineLabels = prometheusLabels
  .superRefine((labels, ctx) => {
    for (const name of Object.keys(labels)) {
      if (reservedTargetLabels.includes(name) || name.startsWith('__')) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `"${name}" is set by relguard or Prometheus for every target; choose another label name`,
        });
      }
    }
  })
  .openapi(
    openApi31({
      propertyNames: { pattern: machineLabelPattern },
      description:
        "Labels the machine's Prometheus target gets beside relguard's own. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`), not `app`, `version`, `instance` or `job` (relguard sets them) and not starting with `__` (Prometheus' own); a key that breaks this is 422 naming `machines.N.labels.<key>`.",
    }),
  );

/** Names end up in workflow ids, folder names and Prometheus labels: keep them plain. */
export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits or dashes')
  .openapi({ minLength: 1, maxLength: 63 });

/** What the api does with the redaction mask sent back in place of a value (application-redaction.ts). */
const maskSentence =
  'A value that is the redaction mask `***` (as GET shows it to a role that may not see it) keeps the stored value; with no stored value it stands for, it is refused (422 naming the field).';

export const MachineStatus = z.enum(['healthy', 'error', 'alert', 'unknown']);
export type MachineStatus = z.infer<typeof MachineStatus>;

export const DeploymentPlatform = z.enum(['local', 'ssh']);
export type DeploymentPlatform = z.infer<typeof DeploymentPlatform>;

export const SshConfig = z.strictObject({
  user: z.string().min(1),
  port: integer(1, 65535).default(22),
  key_path: z
    .string()
    .min(1)
    .openapi({
      description: `The private key relguard connects with, a path on the worker's host. ${maskSentence.replace('the stored value', 'the stored key path of the machine with the same id')}`,
    }),
  /** This machine's known_hosts file, instead of SSH_KNOWN_HOSTS_FILE. */
  known_hosts_path: z.string().min(1).optional(),
  /** The only host key the machine may present, as `ssh-keygen -lf` prints it; decides alone. */
  host_key_sha256: z
    .string()
    .regex(
      /^SHA256:[A-Za-z0-9+/]{43}=?$/,
      'must be a SHA256 fingerprint as ssh-keygen -lf prints it: "SHA256:" and 43 base64 characters',
    )
    .optional(),
});
export type SshConfig = z.infer<typeof SshConfig>;

export const Machine = z.strictObject({
  id: slug.openapi({
    description:
      "The machine's id, unique in the application (a repeated id is 422 naming `machines.N.id`): 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit.",
  }),
  name: z.string().min(1).optional(),
  host: z.string().min(1),
  port: integer(1, 65535).openapi({
    description:
      'The port the application listens on. No two machines of an application have the same host and port (the second is 422 naming `machines.N.port`): one would answer for the other.',
  }),
  status: MachineStatus.default('unknown'),
  /** Why it has that status, in words (written by relguard's health watcher and releases). */
  status_reason: z.string().optional(),
  /** Since when it has that status (epoch ms). */
  status_since: integer(0).optional(),
  version: z.string().default(''),
  labels: machineLabels.default({}),
  ssh: SshConfig.optional().openapi({
    description:
      "How relguard reaches the machine over SSH. Required on every machine when the application's `deployment_platform` is `ssh` (a machine without it is 422 naming `machines.N.ssh`).",
  }),
});
export type Machine = z.infer<typeof Machine>;

/**
 * What JSON Schema can say of `batches` besides its items' bounds: it contains 100, which, the
 * percentages being at most 100 and increasing, is its last.
 */
const batchesMetadata = openApi31({
  contains: { const: 100 },
  description:
    'Cumulative percentages of all the machines, gray included, deployed after each batch, e.g. `[25, 50, 100]`: each above 0 and at most 100, strictly increasing (a value not above the one before is 422 naming `pacer.batches.N`), and the last one 100, every machine (else 422 naming the last). The alternative to `batch_size`.',
});

export const PacerConfig = z
  .strictObject({
    /** Machines per batch after the gray machine. */
    batch_size: integer(1).optional(),
    /** Cumulative percentages of the machines, e.g. [25, 50, 100]; the alternative to batch_size. */
    batches: z.array(z.number().gt(0).max(100)).min(1).optional().openapi(batchesMetadata),
    interval_seconds: integer(0).default(60),
    gray_bake_seconds: integer(0).default(120),
    manual_approval: z.boolean().default(false),
    /** Machines deployed at once inside a batch; unset means the whole batch at once. */
    max_parallel: integer(1).optional(),
  })
  .superRefine((pacer, ctx) => {
    if (pacer.batch_size !== undefined && pacer.batches !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['batches'],
        message: 'give either batch_size or batches, not both',
      });
    }
    const batches = pacer.batches ?? [];
    for (let i = 1; i < batches.length; i++) {
      if (batches[i]! <= batches[i - 1]!) {
        ctx.addIssue({
          code: 'custom',
          path: ['batches', i],
          message: 'batch percentages must increase',
        });
      }
    }
    if (batches.length > 0 && batches[batches.length - 1] !== 100) {
      ctx.addIssue({
        code: 'custom',
        path: ['batches', batches.length - 1],
        message: 'the last batch must be 100 (every machine)',
      });
    }
  })
  .openapi(
    openApi31({
      description:
        'How a release goes through the machines: the gray machine alone, then batches of `batch_size` machines, or up to the cumulative percentages of `batches`; with neither, 25, 50 and 100%. `batch_size` and `batches` are alternatives: giving both is 422 naming `pacer.batches`.',
      oneOf: [
        { title: 'batch_size, or neither', properties: { batches: false } },
        { title: 'batches', required: ['batches'], properties: { batch_size: false } },
      ],
    }),
  );
export type PacerConfig = z.infer<typeof PacerConfig>;

export const RuleMetric = z.enum(['error_rate', 'latency_p99', 'cpu', 'memory', 'custom']);
export type RuleMetric = z.infer<typeof RuleMetric>;

export const ComparisonOperator = z.enum(['>', '>=', '<', '<=']);
export type ComparisonOperator = z.infer<typeof ComparisonOperator>;

export const RollbackRule = z
  .strictObject({
    name: z.string().min(1),
    metric: RuleMetric,
    /** PromQL for `custom` rules; may use the {{app}}, {{version}} and {{instances}} placeholders. */
    promql: z.string().min(1).optional().openapi({
      description:
        'The PromQL a `custom` rule measures (required for `custom`, ignored by the other metrics), with the placeholders `{{app}}`, `{{version}}` and `{{instances}}`. It must parse as PromQL, use `{{version}}` (else it cannot tell the new version from the old) and no other `{{...}}` placeholder; each problem is 422 naming `rollback_policy.rules.N.promql`.',
    }),
    operator: ComparisonOperator.default('>'),
    threshold: z.number(),
    /** Compare the new-version machines with the old-version machines over the same window. */
    relative_to_baseline: z.boolean().default(false),
    /**
     * For a relative rule: the new version's value must also pass this absolute floor to fail
     * (a 3x rise of an error rate of 0.0001 is noise).
     */
    floor: z.number().min(0).optional(),
    /** Requests per second the new version must serve for the rule to be judged at all. */
    min_request_rate: z.number().min(0).optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.metric === 'custom' && rule.promql === undefined) {
      ctx.addIssue({ code: 'custom', path: ['promql'], message: 'a custom rule needs promql' });
    }
  })
  .openapi(
    openApi31({
      description:
        'A rule the metric guard checks at each evaluation. A `custom` rule measures its own `promql`, which it requires (without it, 422 naming `rollback_policy.rules.N.promql`); the other metrics are measured with `red_metrics_config`.',
      oneOf: [
        {
          title: 'custom',
          properties: { metric: { const: 'custom' }, promql: { type: 'string', minLength: 1 } },
          required: ['metric', 'promql'],
        },
        {
          title: 'built-in metric',
          properties: { metric: { enum: RuleMetric.options.filter((m) => m !== 'custom') } },
          required: ['metric'],
        },
      ],
    }),
  );
export type RollbackRule = z.infer<typeof RollbackRule>;

export const NoDataAction = z.enum(['ignore', 'pause', 'rollback']);
export type NoDataAction = z.infer<typeof NoDataAction>;

export const defaultRollbackRules: RollbackRule[] = [
  {
    name: 'error rate above 5%',
    metric: 'error_rate',
    operator: '>',
    threshold: 0.05,
    relative_to_baseline: false,
  },
  {
    name: 'p99 latency above 1s',
    metric: 'latency_p99',
    operator: '>',
    threshold: 1,
    relative_to_baseline: false,
  },
];

export const RollbackPolicy = z.strictObject({
  enabled: z.boolean().default(true),
  /** false: a breach pauses the release and alerts, and a person decides. */
  auto_rollback: z.boolean().default(true),
  interval_seconds: integer(1).default(15),
  consecutive_breaches: integer(1).default(3),
  rules: z.array(RollbackRule).default(defaultRollbackRules),
  no_data: NoDataAction.default('pause'),
  /** Names of the notification channels configured in relguard. */
  notify: z
    .array(
      // Only a channel that exists is accepted, and every channel's name has this pattern.
      z.string().min(1).openapi({ pattern: channelNamePattern.source, maxLength: 64 }),
    )
    .default([])
    .openapi({
      description:
        'The notification channels alerts of this application go to, by name. Each must be a channel relguard has (GET /api/v1/channels: PUT /api/v1/channels/{name} or NOTIFY_CHANNELS), so its name has the channel name pattern; a name no channel has is 422 naming `rollback_policy.notify.N`.',
    }),
  ai_analysis: z.boolean().default(true),
  /**
   * After the last batch, how long the guard keeps watching every machine before the release
   * is `succeeded`; a breach in this window rolls every machine back. Unset: see
   * `verifySeconds` in domain/guard-timing.ts (max(2 x interval x consecutive_breaches, 60 s)).
   */
  verify_seconds: integer(0).optional().openapi({
    description:
      'After the last batch, how long the guard keeps watching every machine before the release succeeds; a breach in this window rolls every machine back. Unset: max(2 x interval_seconds x consecutive_breaches, 60). With the guard enabled it must be at least interval_seconds x consecutive_breaches, the time a rollback takes to decide (else 422 naming `rollback_policy.verify_seconds`).',
  }),
  /**
   * Conclusive evaluations of the machines deployed so far that the guard must have made before
   * the release moves past the gray machine, past each batch, and out of the verification
   * window. Unset: `consecutive_breaches`.
   */
  min_judged_evaluations: integer(1).optional().openapi({
    description:
      'Conclusive evaluations the guard must have made of the machines deployed so far before the release moves past the gray machine, past each batch, and out of the verification window. Unset: consecutive_breaches. With the guard enabled it must be at least consecutive_breaches (else 422 naming `rollback_policy.min_judged_evaluations`).',
  }),
});
export type RollbackPolicy = z.infer<typeof RollbackPolicy>;

/** What the api checks of every template (domain/promql-templates.ts), for the document. */
const templateSentence =
  'It must parse as PromQL, use `{{version}}` (else it measures every version at once) and no placeholder but `{{app}}`, `{{version}}` and `{{instances}}`; each problem is 422 naming the field.';

/** PromQL templates; {{app}}, {{version}} and {{instances}} are filled in at evaluation. */
export const REDMetrics = z
  .strictObject({
    rate: z
      .string()
      .min(1)
      .default('sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[1m]))')
      .openapi({
        description: `Requests per second of a version. ${templateSentence} It must be a rate: one that divides by another series is refused.`,
      }),
    errors: z
      .string()
      .min(1)
      .default(
        'sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[1m]))',
      )
      .openapi({
        description: `Failed requests per second of a version (error_rate rules divide it by \`rate\`). ${templateSentence} It must be a rate: one that divides by another series is refused (a ratio belongs in \`error_ratio\`).`,
      }),
    duration: z
      .string()
      .min(1)
      .default(
        'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[1m])))',
      )
      .openapi({
        description: `The p99 latency of a version, in seconds. ${templateSentence} A histogram_quantile over \`_bucket\` series must keep \`le\` through its aggregation.`,
      }),
    /**
     * The error ratio itself (errors / requests, 0 to 1), for those who write it so. When set,
     * `error_rate` rules use it as it is instead of dividing `errors` by `rate`.
     */
    error_ratio: z
      .string()
      .min(1)
      .optional()
      .openapi({
        description: `The error ratio itself (errors / requests, 0 to 1); when set, error_rate rules use it as it is instead of dividing \`errors\` by \`rate\`. ${templateSentence}`,
      }),
    labels: prometheusLabels.default({}).openapi({
      description:
        'Further equality matchers the cpu and memory rules put in their process selectors (say `job` or `env`), values filled like a template. Each key is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`); another key is 422 naming `red_metrics_config.labels.<key>`.',
    }),
  })
  .openapi({
    description:
      'The PromQL templates the metric guard and the charts measure a version with; `{{app}}`, `{{version}}` and `{{instances}}` are filled in at evaluation. With the guard enabled, the longest range window (`[1m]`) of the templates and custom rules must hold two Prometheus scrapes (PROMETHEUS_SCRAPE_INTERVAL_SECONDS, 15 s by default: a window of at least 30 s), else `rate()` never has a value: 422 naming `red_metrics_config`.',
  });
export type REDMetrics = z.infer<typeof REDMetrics>;

export const HealthCheck = z.strictObject({
  path: z.string().startsWith('/').default('/healthz').openapi({
    pattern: '^/',
    description:
      'The HTTP path relguard asks each machine for (at its host and port); it starts with `/`.',
  }),
  timeout_seconds: integer(1).default(30),
});
export type HealthCheck = z.infer<typeof HealthCheck>;

/** How relguard's health watcher checks the machines between releases (domain/machine-health.ts). */
export const HealthSettings = z.strictObject({
  interval_seconds: integer(1, 3600).default(15),
  /** Failed checks in a row before a machine is `error` (and before it is `unknown`). */
  failures_before_error: integer(1, 100).default(2),
});
export type HealthSettings = z.infer<typeof HealthSettings>;

/** The fields an application and an update share, each with what the document says of it. */
const AppName = slug.openapi({
  description:
    "The application's name: 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit. A name another application has is 409.",
});
const Repo = z.string().openapi({
  description:
    'Where packages are built from (any git URL, a local path or file://); empty for an application whose packages are only uploaded. Credentials in a URL are shown as `***` to every role; a repo sent back with `***` for the credentials keeps the stored ones when the rest is the stored URL, else it is 422 naming `repo`.',
});
const DeployPath = z.string().startsWith('/', 'must be an absolute path').openapi({
  pattern: '^/',
  description:
    'The absolute path on each machine the versions are unpacked under; it starts with `/` (else 422 naming `deploy_path`).',
});
const command = (what: string) =>
  z.string().openapi({
    description: `${what} Shown as \`***\` to roles below admin. ${maskSentence}`,
  });
const StartCommand = command('The shell command that starts a version on a machine.').min(1);
const StopCommand = command('The shell command that stops it; empty: relguard stops the process.');
const BuildCommand = command('The shell command that builds a package from the repo.');
const Machines = z.array(Machine).openapi({
  description:
    "The machines, in deployment order. Ids are unique in the application, and so are addresses (host and port); with `deployment_platform: ssh` every machine has `ssh` settings. Each break of these is 422 naming the machine's field (`machines.N.id`, `machines.N.port`, `machines.N.ssh`).",
});

/** What a person gives to create an application; relguard fills in the rest. */
const applicationFields = {
  name: AppName,
  /**
   * Where packages are built from (any git URL, a local path or file://). Empty for an
   * application whose packages are only uploaded (by CI, say).
   */
  repo: Repo.default(''),
  deployment_platform: DeploymentPlatform.default('local'),
  deploy_path: DeployPath,
  config_path: z.string().default(''),
  start_cmd: StartCommand,
  stop_cmd: StopCommand.default(''),
  machines: Machines.default([]),
  up_stream_ids: z.array(z.string()).default([]),
  down_stream_ids: z.array(z.string()).default([]),
  rollback_policy: RollbackPolicy.prefault({}),
  pacer: PacerConfig.prefault({}),
  red_metrics_config: REDMetrics.prefault({}),
  build_cmd: BuildCommand.optional(),
  artifact_path: z.string().optional(),
  health_check: HealthCheck.prefault({}),
  health: HealthSettings.prefault({}),
  auto_release: z.boolean().default(false),
};

type MachineListHolder = { machines?: Machine[]; deployment_platform?: DeploymentPlatform };

function checkMachines(app: MachineListHolder, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  const byAddress = new Map<string, string>();
  (app.machines ?? []).forEach((machine, index) => {
    if (seen.has(machine.id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['machines', index, 'id'],
        message: `duplicate machine id "${machine.id}"`,
      });
    }
    seen.add(machine.id);
    // Two machines at one address would answer health checks and scrapes for each other.
    const address = `${machine.host}:${machine.port}`;
    const other = byAddress.get(address);
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['machines', index, 'port'],
        message: `machine "${machine.id}" has the address ${address} of machine "${other}": one would answer for the other`,
      });
    }
    byAddress.set(address, machine.id);
    if (app.deployment_platform === 'ssh' && machine.ssh === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['machines', index, 'ssh'],
        message: 'the ssh platform needs ssh settings for every machine',
      });
    }
  });
}

/**
 * The ssh platform's rule as JSON Schema: with `deployment_platform: ssh`, every machine has
 * `ssh` settings (the `local` platform, the default, takes any machines).
 */
const sshPlatformRule: JsonSchema = {
  if: { properties: { deployment_platform: { const: 'ssh' } }, required: ['deployment_platform'] },
  then: {
    properties: {
      machines: { items: { properties: { ssh: { type: 'object' } }, required: ['ssh'] } },
    },
  },
};

export const ApplicationInput = z
  .strictObject(applicationFields)
  .superRefine(checkMachines)
  .openapi(
    openApi31({
      description:
        'An application to create; relguard fills in the rest. Besides what the schema says, the api refuses with 422, naming each field: RED templates and custom rules that are not usable PromQL, a rollback policy the guard could never judge, notification channels that do not exist, and the redaction mask `***` where no stored value stands behind it (see each field).',
      ...sshPlatformRule,
    }),
  );
export type ApplicationInput = z.infer<typeof ApplicationInput>;

/**
 * An update names only the fields it changes. Defaults are not applied, so that a field
 * left out keeps its stored value instead of being reset.
 */
export const ApplicationUpdate = z
  .strictObject({
    name: AppName.optional(),
    repo: Repo.optional(),
    deployment_platform: DeploymentPlatform.optional(),
    deploy_path: DeployPath.optional(),
    config_path: z.string().optional(),
    start_cmd: StartCommand.optional(),
    stop_cmd: StopCommand.optional(),
    machines: Machines.optional(),
    up_stream_ids: z.array(z.string()).optional(),
    down_stream_ids: z.array(z.string()).optional(),
    rollback_policy: RollbackPolicy.optional(),
    pacer: PacerConfig.optional(),
    red_metrics_config: REDMetrics.optional(),
    build_cmd: BuildCommand.optional(),
    artifact_path: z.string().optional(),
    health_check: HealthCheck.optional(),
    health: HealthSettings.optional(),
    auto_release: z.boolean().optional(),
  })
  .superRefine(checkMachines)
  .openapi(
    openApi31({
      description:
        'The fields to change; the others keep their stored value. The application that results is checked as a whole, as a new one is: `deployment_platform: ssh` needs `ssh` settings on every machine, stored or sent; new templates are checked with the stored rules and the other way round. Each refusal is 422 naming the field.',
      ...sshPlatformRule,
    }),
  );
export type ApplicationUpdate = z.infer<typeof ApplicationUpdate>;

export const Application = z.object({
  id: z.string(),
  ...applicationFields,
  currentVersion: z.string(),
  prev_version: z.string(),
  machine_count: integer(0),
  health_count: integer(0),
  error_count: integer(0),
  alert_count: integer(0),
  /** The release that holds the application's one release slot, while it runs. */
  active_deployment_id: z.string().optional(),
  createdTime: integer(0),
  updatedTime: integer(0),
});
export type Application = z.infer<typeof Application>;

/** The counters the seed keeps beside the machine list, derived from it. */
export function machineCounts(
  machines: readonly Machine[],
): Pick<Application, 'machine_count' | 'health_count' | 'error_count' | 'alert_count'> {
  return {
    machine_count: machines.length,
    health_count: machines.filter((m) => m.status === 'healthy').length,
    error_count: machines.filter((m) => m.status === 'error').length,
    alert_count: machines.filter((m) => m.status === 'alert').length,
  };
}
