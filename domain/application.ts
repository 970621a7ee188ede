import { z } from './zod';

/**
 * An application and the shapes it holds. Field names are the seed's and stay the same in
 * MongoDB (bson) and JSON; `id` is stored as `_id` (see activities/db).
 */

/**
 * Machine and RED-metric labels become Prometheus labels (file-SD targets, selectors), and
 * MongoDB field names: `a.b` or `$a` would be refused by the store.
 */
const prometheusLabels = z.record(
  z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)'),
  z.string(),
);

/**
 * Labels a machine's Prometheus target gets beside relguard's own. They may not claim what
 * relguard sets (`app`, `version`, `instance`: the guard selects by them), the scrape `job`
 * (the alert rules select `job="relguard-nodes"`), nor Prometheus' reserved `__` names
 * (`__metrics_path__`, `__address__`: they would change what is scraped).
 */
const reservedTargetLabels = new Set(['app', 'version', 'instance', 'job']);
const machineLabels = prometheusLabels.superRefine((labels, ctx) => {
  for (const name of Object.keys(labels)) {
    if (reservedTargetLabels.has(name) || name.startsWith('__')) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `"${name}" is set by relguard or Prometheus for every target; choose another label name`,
      });
    }
  }
});

/** Names end up in workflow ids, folder names and Prometheus labels: keep them plain. */
export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits or dashes');

export const MachineStatus = z.enum(['healthy', 'error', 'alert', 'unknown']);
export type MachineStatus = z.infer<typeof MachineStatus>;

export const DeploymentPlatform = z.enum(['local', 'ssh']);
export type DeploymentPlatform = z.infer<typeof DeploymentPlatform>;

export const SshConfig = z.strictObject({
  user: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  key_path: z.string().min(1),
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
  id: slug,
  name: z.string().min(1).optional(),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  status: MachineStatus.default('unknown'),
  /** Why it has that status, in words (written by relguard's health watcher and releases). */
  status_reason: z.string().optional(),
  /** Since when it has that status (epoch ms). */
  status_since: z.number().int().min(0).optional(),
  version: z.string().default(''),
  labels: machineLabels.default({}),
  ssh: SshConfig.optional(),
});
export type Machine = z.infer<typeof Machine>;

export const PacerConfig = z
  .strictObject({
    /** Machines per batch after the gray machine. */
    batch_size: z.number().int().min(1).optional(),
    /** Cumulative percentages of the machines, e.g. [25, 50, 100]; the alternative to batch_size. */
    batches: z.array(z.number().gt(0).max(100)).min(1).optional(),
    interval_seconds: z.number().int().min(0).default(60),
    gray_bake_seconds: z.number().int().min(0).default(120),
    manual_approval: z.boolean().default(false),
    /** Machines deployed at once inside a batch; unset means the whole batch at once. */
    max_parallel: z.number().int().min(1).optional(),
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
  });
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
    promql: z.string().min(1).optional(),
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
  });
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
  interval_seconds: z.number().int().min(1).default(15),
  consecutive_breaches: z.number().int().min(1).default(3),
  rules: z.array(RollbackRule).default(defaultRollbackRules),
  no_data: NoDataAction.default('pause'),
  /** Names of the notification channels configured in relguard. */
  notify: z.array(z.string().min(1)).default([]),
  ai_analysis: z.boolean().default(true),
  /**
   * After the last batch, how long the guard keeps watching every machine before the release
   * is `succeeded`; a breach in this window rolls every machine back. Unset: see
   * `verifySeconds` in domain/guard-timing.ts (max(2 x interval x consecutive_breaches, 60 s)).
   */
  verify_seconds: z.number().int().min(0).optional(),
  /**
   * Conclusive evaluations of the machines deployed so far that the guard must have made before
   * the release moves past the gray machine, past each batch, and out of the verification
   * window. Unset: `consecutive_breaches`.
   */
  min_judged_evaluations: z.number().int().min(1).optional(),
});
export type RollbackPolicy = z.infer<typeof RollbackPolicy>;

/** PromQL templates; {{app}}, {{version}} and {{instances}} are filled in at evaluation. */
export const REDMetrics = z.strictObject({
  rate: z
    .string()
    .min(1)
    .default('sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[1m]))'),
  errors: z
    .string()
    .min(1)
    .default(
      'sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[1m]))',
    ),
  duration: z
    .string()
    .min(1)
    .default(
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[1m])))',
    ),
  /**
   * The error ratio itself (errors / requests, 0 to 1), for those who write it so. When set,
   * `error_rate` rules use it as it is instead of dividing `errors` by `rate`.
   */
  error_ratio: z.string().min(1).optional(),
  labels: prometheusLabels.default({}),
});
export type REDMetrics = z.infer<typeof REDMetrics>;

export const HealthCheck = z.strictObject({
  path: z.string().startsWith('/').default('/healthz'),
  timeout_seconds: z.number().int().min(1).default(30),
});
export type HealthCheck = z.infer<typeof HealthCheck>;

/** How relguard's health watcher checks the machines between releases (domain/machine-health.ts). */
export const HealthSettings = z.strictObject({
  interval_seconds: z.number().int().min(1).max(3600).default(15),
  /** Failed checks in a row before a machine is `error` (and before it is `unknown`). */
  failures_before_error: z.number().int().min(1).max(100).default(2),
});
export type HealthSettings = z.infer<typeof HealthSettings>;

/** What a person gives to create an application; relguard fills in the rest. */
const applicationFields = {
  name: slug,
  /**
   * Where packages are built from (any git URL, a local path or file://). Empty for an
   * application whose packages are only uploaded (by CI, say).
   */
  repo: z.string().default(''),
  deployment_platform: DeploymentPlatform.default('local'),
  deploy_path: z.string().startsWith('/', 'must be an absolute path'),
  config_path: z.string().default(''),
  start_cmd: z.string().min(1),
  stop_cmd: z.string().default(''),
  machines: z.array(Machine).default([]),
  up_stream_ids: z.array(z.string()).default([]),
  down_stream_ids: z.array(z.string()).default([]),
  rollback_policy: RollbackPolicy.prefault({}),
  pacer: PacerConfig.prefault({}),
  red_metrics_config: REDMetrics.prefault({}),
  build_cmd: z.string().optional(),
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

export const ApplicationInput = z.strictObject(applicationFields).superRefine(checkMachines);
export type ApplicationInput = z.infer<typeof ApplicationInput>;

/**
 * An update names only the fields it changes. Defaults are not applied, so that a field
 * left out keeps its stored value instead of being reset.
 */
export const ApplicationUpdate = z
  .strictObject({
    name: slug.optional(),
    repo: z.string().optional(),
    deployment_platform: DeploymentPlatform.optional(),
    deploy_path: z.string().startsWith('/', 'must be an absolute path').optional(),
    config_path: z.string().optional(),
    start_cmd: z.string().min(1).optional(),
    stop_cmd: z.string().optional(),
    machines: z.array(Machine).optional(),
    up_stream_ids: z.array(z.string()).optional(),
    down_stream_ids: z.array(z.string()).optional(),
    rollback_policy: RollbackPolicy.optional(),
    pacer: PacerConfig.optional(),
    red_metrics_config: REDMetrics.optional(),
    build_cmd: z.string().optional(),
    artifact_path: z.string().optional(),
    health_check: HealthCheck.optional(),
    health: HealthSettings.optional(),
    auto_release: z.boolean().optional(),
  })
  .superRefine(checkMachines);
export type ApplicationUpdate = z.infer<typeof ApplicationUpdate>;

export const Application = z.object({
  id: z.string(),
  ...applicationFields,
  currentVersion: z.string(),
  prev_version: z.string(),
  machine_count: z.number().int(),
  health_count: z.number().int(),
  error_count: z.number().int(),
  alert_count: z.number().int(),
  /** The release that holds the application's one release slot, while it runs. */
  active_deployment_id: z.string().optional(),
  createdTime: z.number().int(),
  updatedTime: z.number().int(),
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
