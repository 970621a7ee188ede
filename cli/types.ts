import type {
  AlertDelivery,
  AnalysisReport,
  Application,
  ChannelView,
  Deployment,
  MachineStatus,
  PackageRecord,
} from '../domain';
import type { ReleaseProgress } from '../workflows/release/messages';

/**
 * What the api answers, typed from the same domain types it validates with. Type imports
 * only: the CLI talks to the api over HTTP and loads none of its code.
 */
export type {
  AlertDelivery,
  AnalysisReport,
  Application,
  ChannelView,
  MachineStatus,
  PackageRecord,
};

/** One change of a machine's status (GET /api/v1/applications/{id}/machine-events). */
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

/** The live progress a running release's deployment carries (api/deployments/routes.ts). */
export type ProgressView = Pick<
  ReleaseProgress,
  | 'status'
  | 'phase'
  | 'paused'
  | 'awaitingApproval'
  | 'batch'
  | 'batches'
  | 'machines'
  | 'waitingUntil'
  | 'awaitingJudgement'
  | 'promotable'
  | 'reason'
>;

export type DeploymentView = Deployment & {
  workflow_id: string;
  workflow_url: string;
  progress?: ProgressView;
};

export interface ItemList<T> {
  items: T[];
}

/** The 202 of POST /api/v1/packages: a build started. */
export interface PackageBuildStarted {
  workflow_id: string;
  workflow_url: string;
}
