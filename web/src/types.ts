/**
 * What the console reads from the api. The stored entities come from domain/ (types only:
 * nothing of it is bundled); the shapes only the api makes are written out here as its
 * routes declare them (the routes.ts of each api/ folder).
 */
import type {
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

export type {
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
  queries: { version: string; promql: string }[];
  series: MetricSeries[];
}

export interface ApplicationMetrics {
  app_id: string;
  from: number;
  to: number;
  step_seconds: number;
  metrics: RedMetric[];
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
  items: { name: string; promql: string; series: MetricSeries[]; error?: string }[];
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
