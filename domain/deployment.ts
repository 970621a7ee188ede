import { z } from './zod';
import { AlertDelivery } from './alert';
import { DeploymentPlatform, slug } from './application';

/** A full git object name: SHA-1 (40 hex digits) or SHA-256 (64). */
export const gitSha = z
  .string()
  .regex(
    /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/,
    'must be a full git SHA: 40 or 64 lower-case hex digits',
  );

/** A package: the seed's PackageInfo. `created_at` is epoch milliseconds like every time here. */
export const PackageInfo = z.object({
  url: z.string().min(1),
  md5: z.string().regex(/^[a-f0-9]{32}$/, 'must be 32 lower-case hex digits'),
  /**
   * SHA-256 of the archive, checked with the MD5 wherever the package is downloaded. Packages
   * recorded before relguard kept it have none: their download is checked by MD5 and size.
   */
  sha256: z
    .string()
    .regex(/^[a-f0-9]{64}$/, 'must be 64 lower-case hex digits')
    .optional(),
  size: z.number().int().min(0),
  created_at: z.number().int(),
  /**
   * The commit the package was built from: the one `refs/tags/<version>` pointed to at build
   * time (never a branch of that name). None for an uploaded package or one built before.
   */
  commit_sha: gitSha.optional(),
});
export type PackageInfo = z.infer<typeof PackageInfo>;

/** The PackageInfo of a stored package, as a deployment and a build's callers receive it. */
export function packageInfoOf(record: PackageInfo): PackageInfo {
  return {
    url: record.url,
    md5: record.md5,
    ...(record.sha256 === undefined ? {} : { sha256: record.sha256 }),
    size: record.size,
    created_at: record.created_at,
    ...(record.commit_sha === undefined ? {} : { commit_sha: record.commit_sha }),
  };
}

/** A stored package of one application version: PackageInfo plus what it belongs to. */
export const PackageRecord = PackageInfo.extend({
  id: z.string(),
  app_id: z.string(),
  app_name: slug,
  version: z.string().min(1),
  /** Where the package store keeps it; machines get a (signed) URL for it at deploy time. */
  key: z.string().min(1),
  /** The annotated tag's own object the package was built from (a push announces that SHA). */
  tag_sha: gitSha.optional(),
});
export type PackageRecord = z.infer<typeof PackageRecord>;

export const DeploymentStatus = z.enum([
  'pending',
  'building',
  'deploying',
  'paused',
  'verifying',
  'succeeded',
  'failed',
  'rolling_back',
  'rolled_back',
  'cancelled',
]);
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

/** A release in one of these states is over; anything else holds the application's release slot. */
export const terminalDeploymentStatuses: readonly DeploymentStatus[] = [
  'succeeded',
  'failed',
  'rolled_back',
  'cancelled',
];

export function isTerminal(status: DeploymentStatus): boolean {
  return terminalDeploymentStatuses.includes(status);
}

export const NodeDeploymentStatus = z.enum([
  'pending',
  'deploying',
  'deployed',
  'failed',
  'rolling_back',
  'rolled_back',
  'skipped',
]);
export type NodeDeploymentStatus = z.infer<typeof NodeDeploymentStatus>;

export const NodeDeployment = z.object({
  machine_id: z.string(),
  /** 0 is the gray machine; batches after it count from 1. */
  batch: z.number().int().min(0),
  status: NodeDeploymentStatus,
  version: z.string(),
  started_at: z.number().int().optional(),
  finished_at: z.number().int().optional(),
  error: z.string().optional(),
});
export type NodeDeployment = z.infer<typeof NodeDeployment>;

/** One rule's verdict as the Deployment keeps it (see domain/guard.ts RuleResult). */
export const RuleResultRecord = z.object({
  rule: z.string(),
  metric: z.string(),
  promql: z.string(),
  baseline_promql: z.string().optional(),
  value: z.number().optional(),
  baseline: z.number().optional(),
  operator: z.string(),
  threshold: z.number(),
  verdict: z.enum(['pass', 'fail', 'no_data', 'error']),
  message: z.string(),
});
export type RuleResultRecord = z.infer<typeof RuleResultRecord>;

/** Why a release was rolled back (or paused by the guard), as the api explains it. */
export const RollbackRecord = z.object({
  reason: z.string(),
  requested_by: z.string(),
  /** When the rollback was asked for (epoch ms). */
  requested_at: z.number().optional(),
  /** When the metric guard detected the breach, and when the first failing evaluation ran. */
  detected_at: z.number().optional(),
  first_breach_at: z.number().optional(),
  failing: z.array(RuleResultRecord).optional(),
});
export type RollbackRecord = z.infer<typeof RollbackRecord>;

/** A person's (or a pipeline's) doing on a release: who, what, when. */
export const DeploymentAction = z.object({
  action: z.enum(['start', 'pause', 'resume', 'approve', 'promote', 'rollback', 'cancel']),
  /** The name of the api token that asked. */
  by: z.string(),
  at: z.number().int(),
  reason: z.string().optional(),
});
export type DeploymentAction = z.infer<typeof DeploymentAction>;

/**
 * One step of a release as it happened, appended by the activity that made it (oldest first):
 * the deployment's status changes (`kind: 'status'`, `status` a DeploymentStatus) and each
 * machine's (`kind: 'machine'`, `status` a NodeDeploymentStatus, with its machine, batch and the
 * version it is going to). The release timeline (domain/release-timeline.ts) is drawn from it.
 */
export const ReleaseEvent = z.object({
  at: z.number().int(),
  kind: z.enum(['status', 'machine']),
  status: z.union([DeploymentStatus, NodeDeploymentStatus]),
  machine_id: z.string().optional(),
  batch: z.number().int().min(0).optional(),
  version: z.string().optional(),
  reason: z.string().optional(),
});
export type ReleaseEvent = z.infer<typeof ReleaseEvent>;

export const Deployment = z.object({
  id: z.string(),
  app_name: slug,
  app_id: z.string(),
  status: DeploymentStatus,
  package_version: z.string().min(1),
  gray_machine_id: z.string(),
  platform: DeploymentPlatform,
  package: PackageInfo.optional(),
  /**
   * The SHA a GitHub push announced the tag at (its commit, or its annotated tag object): the
   * release builds the tag only if it is still there, and refuses a package built from another.
   */
  expected_sha: gitSha.optional(),
  node_deployments: z.array(NodeDeployment),
  /** The version the machines ran before, restored on rollback; empty on a first release. */
  previous_version: z.string().default(''),
  /** Why the release ended as it did (rollback, cancel, failure), in words. */
  reason: z.string().optional(),
  rollback: RollbackRecord.optional(),
  /** What people and pipelines did to the release through the api, oldest first. */
  actions: z.array(DeploymentAction).optional(),
  /** What the release did, step by step (see ReleaseEvent); absent on releases before it. */
  timeline: z.array(ReleaseEvent).optional(),
  /** Every attempt to deliver each of the release's alerts, per channel (see AlertDelivery). */
  alert_deliveries: z.array(AlertDelivery).optional(),
  createdTime: z.number().int(),
  updatedTime: z.number().int(),
});
export type Deployment = z.infer<typeof Deployment>;

/** Machines that ran the new version at some point of the release. */
export const touchedNodeStatuses: readonly NodeDeploymentStatus[] = [
  'deploying',
  'deployed',
  'failed',
  'rolling_back',
  'rolled_back',
];

/** The ids of the deployment's machines in one of `statuses`. */
export function machinesWith(
  deployment: Pick<Deployment, 'node_deployments'>,
  statuses: readonly NodeDeploymentStatus[],
): string[] {
  return deployment.node_deployments
    .filter((node) => statuses.includes(node.status))
    .map((node) => node.machine_id);
}
