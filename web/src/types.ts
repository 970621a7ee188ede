/**
 * What the console reads from the api, by the names its pages use: every one is the api's own
 * OpenAPI document's (client/schema.ts, generated), or a part of one. Nothing is written out
 * here, so a route that changes fails the console's type check. A DeploymentView is what
 * GET /api/v1/deployments/{id} answers: the record, where its workflow is, its live progress.
 */
import type {
  AnalysisReport,
  AnalysisSeries,
  Application,
  ApplicationMetrics,
  Deployment as DeploymentView,
  DeploymentRecord,
  GuardEvaluation,
  GuardEvaluations,
  MachineEvent,
  MetricSeries,
  Package,
  RedMetric,
  ReleaseChartEvent,
  ReleaseProgress,
  Whoami,
} from '../../client';

export type {
  AnalysisReport,
  AnalysisSeries,
  Application,
  ApplicationMetrics,
  DeploymentView,
  GuardEvaluations,
  MachineEvent,
  MetricSeries,
  RedMetric,
  ReleaseChartEvent,
  ReleaseProgress,
  Whoami,
};

/** A deployment's record, as GET /api/v1/deployments lists it. */
export type Deployment = DeploymentRecord;
export type DeploymentStatus = Deployment['status'];
export type NodeDeploymentStatus = Deployment['node_deployments'][number]['status'];
export type AlertDelivery = NonNullable<Deployment['alert_deliveries']>[number];
export type GuardEvaluationRecord = GuardEvaluation;
export type RuleResultRecord = GuardEvaluation['results'][number];
export type MachineStatus = Application['machines'][number]['status'];
export type PackageRecord = Package;
export type Role = Whoami['role'];
