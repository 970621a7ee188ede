import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  type ChildWorkflowHandle,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ReleasePlan } from '../../activities';
import type { ReleaseAlertRequest } from '../../activities/release-alerts';
import {
  isTerminal,
  type DeploymentStatus,
  type NodeDeploymentStatus,
} from '../../domain/deployment';
import { alertAttempts } from '../../domain/alert';
import { failureMessage, nonRetryableFailureTypes } from '../../domain/errors';
import { minJudgedEvaluations, verifySeconds } from '../../domain/guard-timing';
import { analysisWorkflowId } from '../../domain/release';
import { statusSearchAttribute } from '../../domain/search-attributes';
import { analysisWorkflow } from '../analysis';
import { metricGuardWorkflow } from '../metric-guard';
import { secondsText, summaries, waitSummary } from '../summaries';
import {
  approveSignal,
  cancelSignal,
  guardBlindSignal,
  guardPauseSignal,
  judgedSignal,
  judgementRequestSignal,
  pauseSignal,
  progressQuery,
  promoteSignal,
  resumeSignal,
  rollbackSignal,
  type ReleaseInput,
  type ReleaseProgress,
  type GuardPauseRequest,
  type ReleaseResult,
  type RollbackRequest,
  type UndeliveredAlert,
  type Judgement,
} from './messages';

const nonRetryable = [...nonRetryableFailureTypes];

const { loadRelease, ensurePackage, recordDeploymentStatus, finishRelease } =
  proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 10, nonRetryableErrorTypes: nonRetryable },
  });

// Alerts are retried for a while, then given up on: a channel that is down must never hold a
// release or its rollback.
const { sendReleaseAlert } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: alertAttempts, nonRetryableErrorTypes: nonRetryable },
});

const { ensurePackage: buildPackage } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: nonRetryable },
});

// The version's one build (packageWorkflow), started or joined: it may run a build of up to
// three 30-minute attempts that someone else started. The wait heartbeats.
const { joinPackageBuild } = proxyActivities<Activities>({
  startToCloseTimeout: '100 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: nonRetryable },
});

// A machine gets three tries: a deploy that fails its health check three times is a failure
// of the release, not of the worker. A rollback cancels deploys in flight and waits until they
// have stopped, so that a machine is never deployed and rolled back at the same time.
const machineActivities = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: nonRetryable },
});

/** Machines rolled back at once: every touched machine in parallel, up to this many. */
const maxParallelRollback = 50;

/** The release's state: what the handlers change and the progress query reads. */
class Release {
  status: DeploymentStatus = 'pending';
  private currentPhase = 'starting';
  paused = false;
  /** The status to go back to on resume. */
  private resumeStatus: DeploymentStatus = 'pending';
  approved = false;
  awaitingApproval = false;
  cancelRequest?: { reason: string };
  rollbackRequest?: RollbackRequest;
  rollbackRequestedAt?: number;
  /** Alerts to send, in order; one per event. */
  readonly alerts: {
    kind: ReleaseAlertRequest['kind'];
    reason: string;
    request?: RollbackRequest | GuardPauseRequest;
  }[] = [];
  batch = 0;
  waitingUntil?: number;
  reason?: string;
  readonly machines = new Map<string, { batch: number; status: NodeDeploymentStatus }>();
  /** Deploys in flight; a rollback cancels them. */
  forwardScope?: CancellationScope;
  /** Promotions asked for so far: each ends the wait it finds (see waitUnpaused). */
  promotions = 0;
  /** The metric guard, while it watches: promotion waits for its judgement. */
  guard?: ChildWorkflowHandle<typeof metricGuardWorkflow>;
  guardEnded = false;
  /** The judgement being waited for, and the guard's latest answer. */
  awaitingJudgement?: { id: string; machines: number; required: number };
  judgement?: Judgement;
  /** The guard's latest word that was not a pass: a breach, or that it cannot see. */
  guardSaid?: string;

  private loadedPlan?: ReleasePlan;

  constructor(readonly deploymentId: string) {
    this.show();
  }

  /** What the release is doing, in words; every change is shown in the Temporal UI. */
  get phase(): string {
    return this.currentPhase;
  }

  set phase(phase: string) {
    this.currentPhase = phase;
    this.show();
  }

  /**
   * Shows where the release is as the workflow's current details (the Temporal UI reads them
   * through the `__temporal_workflow_metadata` query). Workflow state only, no command: it needs
   * no patch and changes nothing at replay.
   */
  show(): void {
    setCurrentDetails(this.details());
  }

  /** The current details, in Temporal markdown. */
  details(): string {
    const progress = this.progress();
    const lines = [`**${progress.phase}** (status ${this.status})`];
    if (this.loadedPlan !== undefined) {
      const plan = this.loadedPlan;
      const from = plan.previousVersion ? ` (from ${plan.previousVersion})` : ' (first release)';
      const batch =
        this.batch === 0 ? 'gray machine' : `batch ${this.batch} of ${this.batches - 1}`;
      lines.push(`- ${plan.appName} ${plan.version}${from}: ${batch}`);
      const counts = new Map<string, number>();
      for (const machine of this.machines.values()) {
        counts.set(machine.status, (counts.get(machine.status) ?? 0) + 1);
      }
      const machines = [...counts].map(([status, count]) => `${count} ${status.replace('_', ' ')}`);
      lines.push(`- machines: ${machines.join(', ') || 'none'}`);
    }
    lines.push(`- metric guard: ${this.guardDetails()}`);
    if (this.waitingUntil !== undefined) lines.push(`- waiting until ${this.waitingUntilText()}`);
    if (this.awaitingApproval) lines.push('- waiting for a person to approve');
    if (this.paused) lines.push(`- paused${this.reason === undefined ? '' : `: ${this.reason}`}`);
    if (this.rollbackRequest !== undefined) {
      const by = this.rollbackRequest.requested_by ?? 'unknown';
      lines.push(`- rolling back (asked by ${by}): ${this.rollbackRequest.reason}`);
    } else if (this.cancelRequest !== undefined) {
      lines.push(`- cancelling: ${this.cancelRequest.reason}`);
    }
    return lines.join('\n');
  }

  private guardDetails(): string {
    if (this.guardSaid !== undefined) return this.guardSaid;
    if (this.guard === undefined) {
      return this.loadedPlan?.rollbackPolicy.enabled === false ? 'off' : 'not started';
    }
    if (this.guardEnded) return 'ended';
    if (this.awaitingJudgement !== undefined) {
      const { machines, required } = this.awaitingJudgement;
      return `judging ${machines} machine(s), ${required} evaluation(s) needed`;
    }
    if (this.judgement !== undefined) {
      return `passed ${this.judgement.evaluations} evaluation(s) for ${this.judgement.id}`;
    }
    return 'watching';
  }

  private waitingUntilText(): string {
    return this.waitingUntil === undefined ? '' : new Date(this.waitingUntil).toISOString();
  }

  /** The plan arrives from an activity after the handlers are set, so signals are never lost. */
  load(plan: ReleasePlan): void {
    this.loadedPlan = plan;
    for (const node of plan.nodes) {
      this.machines.set(node.machine_id, { batch: node.batch, status: node.status });
    }
    this.show();
  }

  get plan(): ReleasePlan {
    if (this.loadedPlan === undefined) throw new Error('the release plan is not loaded yet');
    return this.loadedPlan;
  }

  get batches(): number {
    return Math.max(0, ...[...this.machines.values()].map((machine) => machine.batch)) + 1;
  }

  /** Rolling forward has to stop: a rollback or a cancel was asked for. */
  get stopping(): boolean {
    return this.rollbackRequest !== undefined || this.cancelRequest !== undefined;
  }

  setStatus(status: DeploymentStatus): void {
    if (this.paused && !this.stopping) {
      this.resumeStatus = status;
      return;
    }
    this.status = status;
    upsertSearchAttributes([{ key: statusSearchAttribute, value: status }]);
    this.show();
  }

  pause(): void {
    if (this.paused || this.stopping || isTerminal(this.status)) return;
    this.resumeStatus = this.status;
    this.setStatus('paused');
    this.paused = true;
    this.show();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.setStatus(this.resumeStatus);
  }

  /** The metric guard cannot see the metrics; the policy lets the release go on, a person knows. */
  guardBlind(request: GuardPauseRequest): void {
    if (this.stopping || isTerminal(this.status)) return;
    this.guardSaid = request.reason;
    this.show();
    this.alerts.push({ kind: 'guard_blind', reason: request.reason, request });
  }

  /** The metric guard saw a breach but the policy wants a person to decide. */
  guardPause(request: GuardPauseRequest): void {
    if (this.stopping || isTerminal(this.status)) return;
    this.guardSaid = request.reason;
    this.reason = request.reason;
    this.alerts.push({ kind: 'paused', reason: request.reason, request });
    this.pause();
  }

  requestRollback(request: RollbackRequest): void {
    if (this.rollbackRequest !== undefined || isTerminal(this.status)) return;
    this.rollbackRequest = request;
    this.rollbackRequestedAt = Date.now();
    this.paused = false;
    if (request.evidence !== undefined) this.guardSaid = request.reason;
    this.forwardScope?.cancel();
    this.show();
  }

  requestCancel(reason: string): void {
    if (this.stopping || isTerminal(this.status)) return;
    this.cancelRequest = { reason };
    this.paused = false;
    this.show();
  }

  setMachine(machineId: string, status: NodeDeploymentStatus): void {
    const machine = this.machines.get(machineId);
    if (machine) machine.status = status;
    this.show();
  }

  progress(): ReleaseProgress {
    return {
      deploymentId: this.deploymentId,
      app: this.loadedPlan?.appName ?? '',
      version: this.loadedPlan?.version ?? '',
      previousVersion: this.loadedPlan?.previousVersion ?? '',
      status: this.status,
      phase: this.paused ? `paused while ${this.phase}` : this.phase,
      paused: this.paused,
      awaitingApproval: this.awaitingApproval,
      batch: this.batch,
      batches: this.batches,
      machines: [...this.machines].map(([machine_id, { batch, status }]) => ({
        machine_id,
        batch,
        status,
      })),
      ...(this.waitingUntil === undefined ? {} : { waitingUntil: this.waitingUntil }),
      ...(this.awaitingJudgement === undefined
        ? {}
        : {
            awaitingJudgement: {
              machines: this.awaitingJudgement.machines,
              required: this.awaitingJudgement.required,
            },
          }),
      promotable:
        !this.stopping && (this.waitingUntil !== undefined || this.awaitingJudgement !== undefined),
      ...(this.rollbackRequest === undefined ? {} : { rollback: this.rollbackRequest }),
      ...(this.reason === undefined ? {} : { reason: this.reason }),
    };
  }
}

/**
 * Keeps the Deployment's status in MongoDB equal to the workflow's: status changes happen in
 * signal handlers too (pause, resume), which cannot wait for an activity, so one loop writes
 * every change in order. `flush` waits until the last change is written.
 */
function statusRecorder(release: Release) {
  // The api creates the deployment pending.
  let recorded: DeploymentStatus = 'pending';
  let recordedReason: string | undefined;
  let finished = false;
  const changed = () => release.status !== recorded || release.reason !== recordedReason;
  // Not cancellable: the final status must be written even when the workflow is cancelled.
  const loop = CancellationScope.nonCancellable(async () => {
    for (;;) {
      await condition(() => changed() || finished);
      if (!changed()) return;
      const status = release.status;
      const reason = release.reason;
      await recordDeploymentStatus.executeWithOptions({ summary: summaries.recordStatus(status) }, [
        {
          deploymentId: release.deploymentId,
          status,
          ...(reason === undefined ? {} : { reason }),
        },
      ]);
      recorded = status;
      recordedReason = reason;
    }
  });
  return {
    async flush() {
      finished = true;
      await loop;
    },
  };
}

/**
 * What an alert that failed for good says: the last attempt's failure, and the channels it
 * names (sendAlert's details: `failed: [{channel, ...}]`).
 */
function undeliveredAlert(kind: UndeliveredAlert['kind'], error: unknown): UndeliveredAlert {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const details: unknown = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const failed =
    typeof details === 'object' && details !== null
      ? (details as { failed?: unknown }).failed
      : undefined;
  const channels = Array.isArray(failed)
    ? failed.flatMap((entry: unknown) => {
        const channel =
          typeof entry === 'object' && entry !== null
            ? (entry as { channel?: unknown }).channel
            : undefined;
        return typeof channel === 'string' ? [channel] : [];
      })
    : [];
  return { kind, reason: failureMessage(error), channels };
}

/**
 * Sends the release's alerts one at a time, in order, without ever holding the release. An
 * alert that fails for good is kept (`undelivered`) for the release's result: never swallowed.
 */
function alertSender(release: Release) {
  let finished = false;
  const undelivered: UndeliveredAlert[] = [];
  const loop = CancellationScope.nonCancellable(async () => {
    for (;;) {
      await condition(() => release.alerts.length > 0 || finished);
      const alert = release.alerts.shift();
      if (alert === undefined) return;
      const evidence = alert.request?.evidence;
      await sendReleaseAlert
        .executeWithOptions({ summary: summaries.alert(alert.kind) }, [
          {
            deploymentId: release.deploymentId,
            kind: alert.kind,
            reason: alert.reason,
            failing: evidence?.failing ?? [],
          },
        ])
        .catch((error: unknown) => {
          // An alert that cannot be delivered must not fail the release: its result says so, and
          // the deployment's alert_deliveries has each attempt.
          const failure = undeliveredAlert(alert.kind, error);
          log.warn('release alert not delivered', { ...failure });
          undelivered.push(failure);
        });
    }
  });
  return {
    undelivered,
    async flush() {
      finished = true;
      await loop;
    },
  };
}

/**
 * Waits `seconds` of unpaused time: pausing stops the clock (as Argo Rollouts' pause does), a
 * rollback or cancel ends the wait at once, and so does a promote asked after `promotedAfter`.
 */
async function waitUnpaused(
  release: Release,
  seconds: number,
  phase: string,
  promotedAfter = release.promotions,
  waitId = phase,
): Promise<void> {
  let remainingMs = seconds * 1000;
  release.phase = phase;
  const over = () => release.stopping || release.promotions > promotedAfter;
  while (remainingMs > 0 && !over()) {
    if (release.paused) {
      release.waitingUntil = undefined;
      await condition(() => !release.paused || over());
      continue;
    }
    const started = Date.now();
    release.waitingUntil = started + remainingMs;
    release.show();
    await condition(() => release.paused || over(), remainingMs, {
      summary: waitSummary(waitId, seconds, remainingMs / 1000),
    });
    remainingMs -= Date.now() - started;
  }
  release.waitingUntil = undefined;
  release.show();
}

/**
 * Waits `seconds` (the bake, the interval, the verification window) and then, while the guard
 * watches, until it has made `min_judged_evaluations` conclusive evaluations of every machine
 * deployed so far since they were: a fast pacer never promotes what the guard has not judged.
 * A promote ends both; a pause stops the clock; a guard that has ended (it acted) judges no more.
 */
async function waitJudged(release: Release, id: string, seconds: number, phase: string) {
  const step = release.promotions;
  const since = Date.now();
  await waitUnpaused(release, seconds, phase, step, id);
  const guard = release.guard;
  if (guard === undefined || release.guardEnded) return;
  const over = () => release.stopping || release.promotions > step || release.guardEnded;
  if (over()) return;
  const machines = [...release.machines]
    .filter(([, machine]) => machine.status === 'deployed')
    .map(([machineId]) => machineId);
  const required = minJudgedEvaluations(release.plan.rollbackPolicy);
  release.awaitingJudgement = { id, machines: machines.length, required };
  // Says so in the current details too (the phase setter shows them).
  release.phase = `${phase}: waiting for the metric guard to judge ${machines.length} machine(s) (${required} evaluations)`;
  await guard.signal(judgementRequestSignal, { id, since, machines, required });
  await condition(() => (release.judgement?.id === id && !release.paused) || over());
  release.awaitingJudgement = undefined;
  release.show();
}

/** Deploys the machines of one batch, at most `maxParallel` at once, pausing between machines. */
async function deployBatch(release: Release, machineIds: string[]): Promise<void> {
  const queue = machineIds.filter((id) => release.machines.get(id)?.status !== 'deployed');
  const parallel = Math.min(release.plan.pacer.max_parallel ?? queue.length, queue.length);
  const deployNext = async (): Promise<void> => {
    for (;;) {
      await condition(() => !release.paused || release.stopping);
      if (release.stopping) return;
      const machineId = queue.shift();
      if (machineId === undefined) return;
      release.setMachine(machineId, 'deploying');
      try {
        await machineActivities.deployMachine.executeWithOptions(
          { summary: summaries.deploy(machineId, release.plan.version) },
          [{ deploymentId: release.plan.deploymentId, machineId }],
        );
        release.setMachine(machineId, 'deployed');
      } catch (error) {
        if (isCancellation(error)) throw error;
        release.setMachine(machineId, 'failed');
        release.requestRollback({
          reason: `machine ${machineId} failed to deploy ${release.plan.version}: ${failureMessage(error)}`,
          requested_by: 'relguard',
        });
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, () => deployNext()));
}

/** Runs `body` so that a rollback request cancels it; a cancellation is not an error here. */
async function rollingForward(release: Release, body: () => Promise<void>): Promise<void> {
  const scope = new CancellationScope();
  release.forwardScope = scope;
  try {
    await scope.run(body);
  } catch (error) {
    if (!(isCancellation(error) && release.rollbackRequest !== undefined)) throw error;
  } finally {
    release.forwardScope = undefined;
  }
}

/** Puts every machine this release touched back on the previous version, in parallel. */
async function rollBack(release: Release): Promise<void> {
  const touched = [...release.machines]
    .filter(([, machine]) => !['pending', 'skipped', 'rolled_back'].includes(machine.status))
    .map(([machineId]) => machineId);
  release.phase = `rolling back ${touched.length} machine(s) to ${release.plan.previousVersion || 'nothing'}`;
  const queue = [...touched];
  const rollBackNext = async (): Promise<void> => {
    for (let machineId = queue.shift(); machineId !== undefined; machineId = queue.shift()) {
      release.setMachine(machineId, 'rolling_back');
      const request = { deploymentId: release.plan.deploymentId, machineId };
      // A first release has nothing to go back to: its machines are stopped instead.
      const { previousVersion } = release.plan;
      if (previousVersion) {
        await machineActivities.rollbackMachine.executeWithOptions(
          { summary: summaries.rollBack(machineId, previousVersion) },
          [request],
        );
      } else {
        await machineActivities.stopMachine.executeWithOptions(
          { summary: summaries.stop(machineId) },
          [request],
        );
      }
      release.setMachine(machineId, 'rolled_back');
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(maxParallelRollback, queue.length) }, () => rollBackNext()),
  );
}

/** Gray machine, bake, approval, then the batches with their intervals. */
async function rollForward(release: Release): Promise<void> {
  const { pacer } = release.plan;
  const batchMachines = (batch: number) =>
    release.plan.nodes.filter((node) => node.batch === batch).map((node) => node.machine_id);

  for (let batch = 0; batch < release.batches && !release.stopping; batch++) {
    await condition(() => !release.paused || release.stopping);
    if (release.stopping) return;
    release.batch = batch;
    release.phase =
      batch === 0
        ? 'deploying the gray machine'
        : `deploying batch ${batch} of ${release.batches - 1}`;
    release.setStatus('deploying');
    await deployBatch(release, batchMachines(batch));
    if (release.stopping) return;

    if (batch === 0) {
      release.setStatus('verifying');
      await waitJudged(release, 'batch-0', pacer.gray_bake_seconds, 'baking the gray machine');
      if (pacer.manual_approval && !release.stopping) {
        release.awaitingApproval = true;
        release.phase = 'waiting for approval';
        await condition(() => release.approved || release.stopping);
        release.awaitingApproval = false;
      }
    } else if (batch < release.batches - 1) {
      await waitJudged(
        release,
        `batch-${batch}`,
        pacer.interval_seconds,
        `waiting before batch ${batch + 1}`,
      );
    }
  }
  // A guard that has ended (it paused the release on a breach and a person resumed it) has
  // nothing left to verify.
  if (release.guard === undefined || release.guardEnded || release.stopping) return;
  // The last batch is judged too: the guard watches every machine for a while before the
  // release is called succeeded, and a breach now rolls every machine back.
  release.setStatus('verifying');
  await waitJudged(
    release,
    'verify',
    verifySeconds(release.plan.rollbackPolicy),
    'verifying all machines',
  );
}

/** The metric guard's static details: what it watches and what it does on a breach. */
function guardDetails(plan: ReleasePlan): string {
  const policy = plan.rollbackPolicy;
  const from = plan.previousVersion ? ` against ${plan.previousVersion}` : '';
  return [
    `Watches ${plan.appName} ${plan.version}${from} (release ${plan.deploymentId}).`,
    `- one evaluation of the rollback policy every ${secondsText(policy.interval_seconds)}`,
    `- ${policy.consecutive_breaches} failing evaluation(s) in a row: ${policy.auto_rollback ? 'rolls the release back' : 'pauses the release for a person'}`,
    `- evaluations without data: ${policy.no_data}`,
  ].join('\n');
}

/**
 * Starts the root-cause analysis of a rollback. It outlives the release (abandoned, not
 * cancelled, when the release ends) and the release never waits for its report.
 */
async function startAnalysis(release: Release, request: RollbackRequest): Promise<void> {
  const evidence = request.evidence;
  try {
    await CancellationScope.nonCancellable(() =>
      startChild(analysisWorkflow, {
        workflowId: analysisWorkflowId(release.deploymentId),
        staticSummary: summaries.analysis(release.plan.appName, release.plan.version),
        staticDetails: `Why ${release.plan.appName} ${release.plan.version} was rolled back (release ${release.deploymentId}): ${request.reason}`,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [
          {
            deploymentId: release.deploymentId,
            trigger: 'rollback',
            reason: request.reason,
            failing: evidence?.failing ?? [],
            at: evidence?.detected_at ?? release.rollbackRequestedAt ?? Date.now(),
          },
        ],
      }),
    );
  } catch (error) {
    // An analysis of this deployment already running (an alert started it) is just as good.
    log.warn('the analysis did not start', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * A release of one application version: build and store the package when there is none, the
 * gray machine, a bake, optional approval, then the remaining batches at the pacer's pace.
 * A rollback (from a person or the metric guard) or a failed machine restores the previous
 * version on every machine this release touched.
 */
export async function releaseWorkflow({ deploymentId }: ReleaseInput): Promise<ReleaseResult> {
  const release = new Release(deploymentId);
  setHandler(progressQuery, () => release.progress());
  setHandler(pauseSignal, () => release.pause());
  setHandler(resumeSignal, () => release.resume());
  setHandler(approveSignal, () => {
    release.approved = true;
  });
  setHandler(cancelSignal, (request) => release.requestCancel(request?.reason ?? 'cancelled'));
  setHandler(rollbackSignal, (request) => release.requestRollback(request));

  setHandler(guardPauseSignal, (request) => release.guardPause(request));
  setHandler(guardBlindSignal, (request) => release.guardBlind(request));
  setHandler(promoteSignal, () => {
    release.promotions++;
  });
  setHandler(judgedSignal, (judgement) => {
    release.judgement = judgement;
    // The guard judged again: what it said when blind or paused is behind it now.
    if (release.rollbackRequest === undefined) release.guardSaid = undefined;
    release.show();
  });
  // Releases started before the verification window and the judged-evaluation gate replay
  // without them.
  const judging = patched('guard-judgement');

  const recorder = statusRecorder(release);
  const alerts = alertSender(release);
  const guardScope = new CancellationScope();
  let result: Omit<ReleaseResult, 'undelivered_alerts'>;
  try {
    const plan = await loadRelease.executeWithOptions(
      { summary: summaries.loadRelease(deploymentId) },
      [deploymentId],
    );
    release.load(plan);
    if (!plan.packageReady) {
      release.setStatus('building');
      release.phase = `building the package of ${plan.version}`;
    }
    await rollingForward(release, async () => {
      const request = { appId: plan.appId, version: plan.version, deploymentId };
      const building = { summary: summaries.buildPackage(plan.appName, plan.version) };
      if (plan.packageReady) {
        await ensurePackage.executeWithOptions(
          { summary: summaries.findPackage(plan.appName, plan.version) },
          [request],
        );
      } else if (patched('one-package-build')) {
        // A build of its own beside the api's or a webhook's would build the version twice.
        await joinPackageBuild.executeWithOptions(building, [request]);
      } else {
        await buildPackage.executeWithOptions(building, [request]);
      }
      if (plan.rollbackPolicy.enabled) {
        // The guard watches from before the gray machine is deployed until rolling forward ends.
        const guard = await guardScope.run(() =>
          startChild(metricGuardWorkflow, {
            workflowId: `${workflowInfo().workflowId}-guard`,
            staticSummary: summaries.guard(
              plan.appName,
              plan.version,
              plan.rollbackPolicy.interval_seconds,
            ),
            staticDetails: guardDetails(plan),
            args: [
              {
                deploymentId,
                policy: plan.rollbackPolicy,
                ...(judging ? { dataGraceMs: plan.guardDataGraceMs } : {}),
                // For the summaries in the Temporal UI; a child's input is not compared at replay.
                target: {
                  app: plan.appName,
                  version: plan.version,
                  baseline: plan.previousVersion,
                },
              },
            ],
          }),
        );
        if (judging) {
          release.guard = guard;
          // The guard ends by itself only when it acted (a rollback or a pause).
          const ended = () => {
            release.guardEnded = true;
            release.show();
          };
          guard.result().then(ended, ended);
        }
      }
      await rollForward(release);
    });
    // Rolling forward is over: what happens next is relguard's own doing, not the guard's.
    guardScope.cancel();

    if (release.rollbackRequest !== undefined) {
      release.reason = release.rollbackRequest.reason;
      release.setStatus('rolling_back');
      await CancellationScope.nonCancellable(() => rollBack(release));
      result = { status: 'rolled_back', reason: release.reason };
      release.alerts.push({
        kind: 'rolled_back',
        reason: release.reason,
        request: release.rollbackRequest,
      });
      if (plan.rollbackPolicy.ai_analysis) await startAnalysis(release, release.rollbackRequest);
    } else if (release.cancelRequest !== undefined) {
      result = { status: 'cancelled', reason: release.cancelRequest.reason };
    } else {
      result = { status: 'succeeded' };
    }
  } catch (error) {
    if (isCancellation(error)) {
      result = { status: 'cancelled', reason: 'the workflow was cancelled' };
    } else {
      result = { status: 'failed', reason: failureMessage(error) };
    }
  }

  guardScope.cancel();
  await CancellationScope.nonCancellable(async () => {
    await recorder.flush();
    release.phase = result.status.replace('_', ' ');
    if (result.reason !== undefined) release.reason = result.reason;
    release.paused = false;
    release.setStatus(result.status);
    // The final status is written by finishRelease, after the application's bookkeeping, so
    // that whoever sees the release ended sees the application as it ends it.
    const rollback = release.rollbackRequest;
    await finishRelease.executeWithOptions({ summary: summaries.finish(result.status) }, [
      {
        deploymentId,
        status: result.status,
        ...(result.reason === undefined ? {} : { reason: result.reason }),
        ...(rollback === undefined || result.status !== 'rolled_back'
          ? {}
          : {
              rollback: {
                reason: rollback.reason,
                requested_by: rollback.requested_by ?? 'unknown',
                ...(release.rollbackRequestedAt === undefined
                  ? {}
                  : { requested_at: release.rollbackRequestedAt }),
                ...(rollback.evidence === undefined
                  ? {}
                  : {
                      detected_at: rollback.evidence.detected_at,
                      ...(rollback.evidence.first_breach_at === undefined
                        ? {}
                        : { first_breach_at: rollback.evidence.first_breach_at }),
                      failing: rollback.evidence.failing,
                    }),
              },
            }),
      },
    ]);
    if (result.status === 'failed') {
      release.alerts.push({ kind: 'release_failed', reason: result.reason ?? 'release failed' });
    }
    await alerts.flush();
  });
  if (result.status === 'failed') {
    throw ApplicationFailure.nonRetryable(result.reason ?? 'release failed', 'ReleaseFailed', {
      undelivered_alerts: alerts.undelivered,
    });
  }
  return { ...result, undelivered_alerts: alerts.undelivered };
}
