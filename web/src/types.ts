/**
 * What the console reads from the api. The stored entities come from domain/ (types only:
 * nothing of it is bundled); the shapes only the api makes are written out here as its
 * routes declare them (the routes.ts of each api/ folder).
 */
import type {
  AlertDelivery,
  AnalysisReport,
  Application,
  Deployment,
  DeploymentStatus,
  GuardEvaluationRecord,
  MachineStatus,
  NodeDeploymentStatus,
  PackageRecord,
  Role,
  RuleResultRecord,
} from '../../domain';
import type { ReleaseMarker } from '../../domain/release-timeline';

export type {
  AlertDelivery,
  AnalysisReport,
  Application,
  Deployment,
  DeploymentStatus,
  GuardEvaluationRecord,
  MachineStatus,
  NodeDeploymentStatus,
  PackageRecord,
  Role,
  RuleResultRecord,
};

export interface Whoami {
  name: string;
  role: Role;
}

export interface ReleaseProgress {
  status: DeploymentStatus;
  phase: string;
  paused: boolean;
  awaitingApproval: boolean;
  batch: number;
  batches: number;
  machines: { machine_id: string; batch: number; status: NodeDeploymentStatus }[];
  waitingUntil?: number;
  /** While promotion waits for the metric guard: the conclusive evaluations it needs. */
  awaitingJudgement?: { machines: number; required: number };
  /** A wait that promote ends now. */
  promotable: boolean;
  reason?: string;
}

/** GET /api/v1/deployments/{id}: the record, where its workflow is, and live progress. */
export interface DeploymentView extends Deployment {
  workflow_id: string;
  workflow_url: string;
  progress?: ReleaseProgress;
}

/** A range query's series: epoch ms and values side by side; null is a gap. */
export interface MetricSeries {
  labels: Record<string, string>;
  timestamps: number[];
  values: (number | null)[];
}

export interface RedMetric {
  metric: 'rate' | 'errors' | 'latency';
  unit: string;
  queries: { version: string; machine?: string; promql: string }[];
  series: MetricSeries[];
}

/** A release event in the window of an application's charts (api ReleaseChartEvent). */
export interface ReleaseChartEvent {
  at: number;
  kind: string;
  label: string;
  batch?: number;
  deployment_id: string;
  version: string;
  /** The console path of the release (`/releases/<id>`). */
  href: string;
}

export interface ApplicationMetrics {
  app_id: string;
  from: number;
  to: number;
  step_seconds: number;
  by: 'version' | 'machine';
  versions: string[];
  versions_left_out: string[];
  notes: string[];
  metrics: RedMetric[];
  events: ReleaseChartEvent[];
}

export interface GuardEvaluations {
  deployment_id: string;
  items: GuardEvaluationRecord[];
}

export interface AnalysisSeries {
  deployment_id: string;
  from: number;
  to: number;
  step_seconds: number;
  /** Before the release (`to` is its start), and from its start until it ended plus a margin. */
  baseline_window: { from: number; to: number };
  release_window: { from: number; to: number };
  markers: ReleaseMarker[];
  items: {
    name: string;
    /** The report's query, pinned (`@`): it reproduces the reported number. */
    promql: string;
    /** The query charted: `promql` without its `@` modifiers. */
    chart_promql: string;
    unpinned: string[];
    /** Why `promql` is charted as given. */
    unpin_error?: string;
    series: MetricSeries[];
    error?: string;
  }[];
}

/** GET /api/v1/applications/{id}/machine-events: one change of a machine's status. */
export interface MachineEvent {
  id: string;
  app_id: string;
  machine_id: string;
  status: MachineStatus;
  reason: string;
  /** The version the machine ran then ('' for none). */
  version: string;
  /** Epoch ms: when the machine entered `status`. */
  at: number;
}

export interface Items<T> {
  items: T[];
}
