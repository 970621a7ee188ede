import { ObjectId } from 'mongodb';
import { newId } from '../../activities/db';
import {
  conflict,
  DeploymentStatus,
  FailureType,
  isTerminal,
  packageInfoOf,
  pendingNodeDeployments,
  planBatches,
  releaseWorkflowId,
  RelguardError,
  type Application,
  type Deployment,
} from '../../domain';
import type { ReleaseProgress } from '../../workflows/release/messages';
import type { ApiVariables } from '../context';

/** A deployment as the api shows it: the stored record, where its workflow is, live progress. */
export async function view(vars: ApiVariables, deployment: Deployment) {
  const workflowId = releaseWorkflowId(deployment.app_name, deployment.id);
  const progress = isTerminal(deployment.status)
    ? undefined
    : await vars.releases.progress(deployment);
  return {
    ...deployment,
    workflow_id: workflowId,
    workflow_url: vars.releases.workflowUrl(workflowId),
    ...(progress === undefined ? {} : { progress: publicProgress(progress) }),
  };
}

function publicProgress(progress: ReleaseProgress) {
  const { status, phase, paused, awaitingApproval, batch, batches, machines } = progress;
  return {
    status,
    phase,
    paused,
    awaitingApproval,
    batch,
    batches,
    machines,
    // A release started before promote existed answers without it.
    promotable: progress.promotable ?? false,
    ...(progress.waitingUntil === undefined ? {} : { waitingUntil: progress.waitingUntil }),
    ...(progress.awaitingJudgement === undefined
      ? {}
      : { awaitingJudgement: progress.awaitingJudgement }),
    ...(progress.reason === undefined ? {} : { reason: progress.reason }),
  };
}

/** How long a claim may wait for its release workflow before another request may take it. */
export const defaultReleaseStartGraceMs = 30_000;

/** The 409 of a slot that is taken: names the release holding it. */
function slotTaken(app: Application, holder: string) {
  return conflict(
    `${app.name} has a release in progress (${holder}); wait for it to end or cancel it`,
    { deployment_id: holder },
  );
}

/**
 * What a request that could not take the slot answers, from the slot as it is now (read
 * again here): 409 naming the release that holds it, or, when it changed hands while the
 * request waited and no release holds it any more, 503: nothing is in the way, try again.
 */
async function slotRefusal(vars: ApiVariables, app: Application, why: string) {
  const holder = await vars.store.applications.releaseHolder(app.id);
  return holder === undefined
    ? new RelguardError(
        FailureType.Unavailable,
        `${why}; no release of ${app.name} holds its release slot now: try again`,
      )
    : slotTaken(app, holder);
}

/** When a claim was made: its deployment's creation, else the time in its ObjectId. */
function claimedAt(holder: string, deployment: Deployment | undefined): number {
  if (deployment !== undefined) return deployment.createdTime;
  // The ObjectId counts whole seconds: the claim may be up to a second later.
  return ObjectId.isValid(holder) ? new ObjectId(holder).getTimestamp().getTime() + 1000 : 0;
}

type Verdict = { busy: true } | { busy: false; reason: string | undefined };

/**
 * Whether the slot's holder still releases, asked of Temporal, the one that knows: its
 * workflow runs (busy); it has no workflow yet but was claimed within the grace (busy: its
 * request is starting it); its workflow ended (stale); or it has none after the grace (stale,
 * and its workflow id is closed first, so that a request still on its way to start it, a
 * stalled api or a start in flight when its api died, is refused by Temporal and can never
 * run beside the next release). `reason` is what the stale deployment is told (undefined:
 * no deployment was recorded).
 */
async function judgeHolder(
  vars: ApiVariables,
  app: Application,
  holder: string,
  successor: string,
): Promise<Verdict> {
  const deployment = await vars.store.deployments.find(holder);
  const release = { id: holder, app_name: app.name };
  const age = Date.now() - claimedAt(holder, deployment);
  // One question to Temporal: the release runs (busy), ended, or never started.
  let run = await vars.releases.runState(release);
  if (run.state === 'running') return { busy: true };
  if (run.state === 'absent') {
    if (age < (vars.releaseStartGraceMs ?? defaultReleaseStartGraceMs)) return { busy: true };
    run = await vars.releases.fence(
      release,
      `its api stopped between taking the release slot of ${app.name} and starting this release; superseded by ${successor}`,
    );
    if (run.state === 'running') return { busy: true };
  }
  if (deployment === undefined) return { busy: false, reason: undefined };
  return {
    busy: false,
    reason:
      run.state === 'ended'
        ? `its workflow ended (${run.status}) without finishing the release; the slot went to ${successor}`
        : `its release workflow never started (its api stopped ${Math.round(age / 1000)} s ago between taking the slot and starting it); the slot went to ${successor}`,
  };
}

/**
 * Takes the application's release slot for `deploymentId`, or answers 409 naming the release
 * that holds it. The slot is taken by inserting its next claim record, which one request only
 * can do (see ApplicationRepository.claimRelease): an empty slot goes to exactly one request; a stale one
 * (judgeHolder) is replaced only if the same stale holder still has it, so of many requests
 * that judged it stale exactly one wins, and that one records why the old release ended.
 */
async function claimReleaseSlot(vars: ApiVariables, app: Application, deploymentId: string) {
  const { applications, deployments } = vars.store;
  let holder: string | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const claim = await applications.claimRelease(app.id, deploymentId);
    if (claim.claimed) return;
    holder = claim.holder;
    if (holder === undefined) continue;
    const verdict = await judgeHolder(vars, app, holder, deploymentId);
    if (verdict.busy) throw slotTaken(app, holder);
    const takeover = await applications.claimRelease(app.id, deploymentId, { replacing: holder });
    if (!takeover.claimed) continue;
    vars.logger.warn(
      { app: app.name, stale: holder, deployment: deploymentId, reason: verdict.reason },
      'took over a stale release slot',
    );
    if (verdict.reason !== undefined) {
      await deployments
        .update(holder, { status: 'cancelled', reason: verdict.reason }, nonTerminalStatuses)
        .catch((error: unknown) => {
          // Ended meanwhile: it keeps its own ending.
          if (!(error instanceof RelguardError && error.type === FailureType.Conflict)) throw error;
        });
    }
    return;
  }
  throw await slotRefusal(
    vars,
    app,
    `${app.name}'s release slot changed hands 5 times while this request tried to take it`,
  );
}

const nonTerminalStatuses = DeploymentStatus.options.filter((status) => !isTerminal(status));

/**
 * Ends a deployment that never started, unless it is over already (another request ended it,
 * saying why) or was never recorded (its creation is what failed). Never throws: the request's
 * own answer says what happened.
 */
async function endUnlessOver(
  vars: ApiVariables,
  id: string,
  ending: { status: 'cancelled' | 'failed'; reason: string },
): Promise<void> {
  await vars.store.deployments.update(id, ending, nonTerminalStatuses).catch((error: unknown) => {
    const expected =
      error instanceof RelguardError &&
      (error.type === FailureType.Conflict || error.type === FailureType.NotFound);
    if (!expected) {
      vars.logger.error(
        { err: error, deployment: id, ending },
        'could not end a release that never started',
      );
    }
  });
}

export interface ReleaseRequest {
  app_id: string;
  package_version: string;
  /** Defaults to the application's first machine. */
  gray_machine_id?: string | undefined;
  /** Who asked, recorded on the Deployment: an api token's name, or `github:<login>`. */
  requested_by: string;
  /** The SHA a GitHub push announced the tag at: the release builds it only from there. */
  expected_sha?: string | undefined;
}

/**
 * Starts a release the one way relguard has, whoever asks (the api, a webhook): creates the
 * deployment in the application's release slot and starts its workflow. A release of the
 * application already running is a Conflict; an unknown gray machine, or a version with
 * neither a package nor a repo to build it from, is BadConfig.
 */
export async function startRelease(vars: ApiVariables, request: ReleaseRequest) {
  const app = await vars.store.applications.get(request.app_id);
  const plan = planBatches(app.machines, app.pacer, request.gray_machine_id);
  const existing = await vars.store.packages.findByVersion(app.id, request.package_version);
  if (existing === undefined && !app.repo) {
    throw new RelguardError(
      FailureType.BadConfig,
      `${app.name} has no package of ${request.package_version} and no repo to build one from`,
    );
  }

  const id = newId();
  await claimReleaseSlot(vars, app, id);
  let deployment: Deployment;
  try {
    deployment = await vars.store.deployments.create(
      {
        app_name: app.name,
        app_id: app.id,
        status: 'pending',
        package_version: request.package_version,
        gray_machine_id: plan.grayMachineId,
        platform: app.deployment_platform,
        ...(request.expected_sha === undefined ? {} : { expected_sha: request.expected_sha }),
        ...(existing === undefined ? {} : { package: packageInfoOf(existing) }),
        node_deployments: pendingNodeDeployments(plan, request.package_version),
        previous_version: app.currentVersion,
        actions: [{ action: 'start', by: request.requested_by, at: Date.now() }],
      },
      Date.now(),
      id,
    );
    await vars.releases.start(deployment);
  } catch (error) {
    const holder = await vars.store.applications.releaseHolder(app.id).catch(() => id);
    if (holder !== id) {
      // Judged stale and taken over while this request stalled, Temporal refused its start
      // (api/releases.ts `fence`). The taker may have found no deployment to end (this request
      // had not recorded it yet): it is ended here, unless it ended already.
      await endUnlessOver(vars, id, {
        status: 'cancelled',
        reason: `superseded by ${holder ?? 'another request'} before it started: its request stalled past the start grace and the release slot of ${app.name} was taken over`,
      });
      throw await slotRefusal(
        vars,
        app,
        `the release ${id} of ${app.name} was superseded before it started`,
      );
    }
    await vars.store.applications.releaseClaim(app.id, id);
    // Unless another request ended it meanwhile (cancelled, saying why): that ending stays.
    await endUnlessOver(vars, id, {
      status: 'failed',
      reason: `the release could not be started: ${error instanceof Error ? error.message : String(error)}`,
    });
    // A start Temporal refused (its workflow id was fenced by another request) names this
    // request's own release, which never runs: answer with the slot as it is now instead.
    if (error instanceof RelguardError && error.type === FailureType.Conflict) {
      throw await slotRefusal(vars, app, error.message);
    }
    throw error;
  }
  vars.logger.info(
    { app: app.name, deployment: id, version: request.package_version, by: request.requested_by },
    'release started',
  );
  return await view(vars, deployment);
}
