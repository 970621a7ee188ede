import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DeploymentStatus, NodeDeploymentStatus } from '../../domain/deployment';
import type { GuardEvidence } from '../../domain/guard';
import type { AlertKind } from '../../domain/alert';

export interface ReleaseInput {
  deploymentId: string;
}

/** Who asks, for the record (a user name, `metric-guard`, `relguard`). */
export interface Requester {
  requested_by?: string;
}

export interface RollbackRequest extends Requester {
  reason: string;
  /** What the metric guard saw (queries, values, thresholds), when it asks. */
  evidence?: GuardEvidence;
}

/**
 * The metric guard pauses a release whose policy does not roll back by itself, or warns that
 * it cannot see the release's metrics (a Prometheus outage under `no_data: ignore`).
 */
export interface GuardPauseRequest {
  reason: string;
  evidence: GuardEvidence;
}

export interface CancelRequest extends Requester {
  reason?: string;
}

export const pauseSignal = defineSignal<[Requester?]>('pause');
export const resumeSignal = defineSignal<[Requester?]>('resume');
export const approveSignal = defineSignal<[Requester?]>('approve');
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
export const rollbackSignal = defineSignal<[RollbackRequest]>('rollback');
export const guardPauseSignal = defineSignal<[GuardPauseRequest]>('guardPause');
export const guardBlindSignal = defineSignal<[GuardPauseRequest]>('guardBlind');
/** Ends the current wait (bake, interval, the guard's judgement, the verification window). */
export const promoteSignal = defineSignal<[Requester?]>('promote');

/**
 * The release asks its guard to say when it has judged `machines`: `required` conclusive
 * evaluations that measured every one of them, made once they can have data (the guard's
 * grace after `since`, when they were deployed; epoch ms).
 */
export interface JudgementRequest {
  /** Names the wait the answer is for: a later request replaces an earlier one. */
  id: string;
  since: number;
  machines: string[];
  required: number;
}

/** The guard's answer: the evaluations it counted for request `id`. */
export interface Judgement {
  id: string;
  evaluations: number;
}

/** Release to guard. */
export const judgementRequestSignal = defineSignal<[JudgementRequest]>('judgementRequest');
/** Guard to release. */
export const judgedSignal = defineSignal<[Judgement]>('judged');

/** Where a release is; what the progress query answers. */
export interface ReleaseProgress {
  deploymentId: string;
  app: string;
  version: string;
  previousVersion: string;
  status: DeploymentStatus;
  /** In words: `deploying batch 2 of 3`, `baking the gray machine`, `waiting for approval`. */
  phase: string;
  paused: boolean;
  awaitingApproval: boolean;
  /** The batch being deployed or waited after; 0 is the gray machine. */
  batch: number;
  batches: number;
  machines: { machine_id: string; batch: number; status: NodeDeploymentStatus }[];
  /** When the current bake, interval or verification window ends (epoch ms), while it waits. */
  waitingUntil?: number;
  /** While promotion waits for the guard: the conclusive evaluations it needs. */
  awaitingJudgement?: { machines: number; required: number };
  /** A wait a person can end now with `promote`. */
  promotable: boolean;
  rollback?: RollbackRequest;
  reason?: string;
}

export const progressQuery = defineQuery<ReleaseProgress>('progress');

/** An alert of the release that some channel never took, after every attempt. */
export interface UndeliveredAlert {
  kind: AlertKind;
  /** The last attempt's failure, naming each channel that did not take it and why. */
  reason: string;
  /** The channels that did not take it (empty when the failure named none). */
  channels: string[];
}

/** What a release ends with. */
export interface ReleaseResult {
  status: Extract<DeploymentStatus, 'succeeded' | 'rolled_back' | 'cancelled' | 'failed'>;
  reason?: string;
  /** The alerts not delivered to every channel ([] when all were): loud, never swallowed. */
  undelivered_alerts: UndeliveredAlert[];
}
