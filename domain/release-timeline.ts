import type {
  Deployment,
  DeploymentStatus,
  NodeDeployment,
  NodeDeploymentStatus,
  ReleaseEvent,
} from './deployment';

/**
 * A release as a timeline, drawn from what it did (Deployment.timeline): its phases, each
 * machine's versions over time and the moments worth a marker. Pure and free of Node and zod at
 * run time (types only), so the console's bundle imports it too; charts of an application and of
 * a report mark the same moments (releaseMarkers).
 */

/** A moment of a release worth a marker on a chart. */
export interface ReleaseMarker {
  kind:
    | 'start'
    | 'gray_deployed'
    | 'batch'
    | 'breach'
    | 'rollback_begun'
    | 'rollback_done'
    | 'succeeded'
    | 'failed'
    | 'cancelled';
  /** Epoch ms. */
  at: number;
  label: string;
  /** For `batch`: which one (1 is the first after the gray machine). */
  batch?: number;
}

/** A stretch of a release, shown as a band. `to` undefined: still going. */
export interface ReleasePhase {
  kind: 'gray' | 'gray_bake' | 'batch' | 'batch_bake' | 'verification' | 'rollback';
  label: string;
  from: number;
  to?: number;
  /** The batch it deploys or bakes (0 the gray machine). */
  batch?: number;
}

/** What one machine ran when during the release; the last segment's `to` is the timeline's. */
export interface MachineLane {
  machine_id: string;
  batch: number;
  segments: {
    /** The version it runs (or is going to); '' for nothing (a first release's machine). */
    version: string;
    from: number;
    to?: number;
    state: 'old' | 'deploying' | 'new' | 'failed' | 'rolling_back' | 'rolled_back';
  }[];
}

export interface ReleaseTimeline {
  /** When the release was started (the deployment created). */
  from: number;
  /** When it ended; undefined while it runs. */
  to?: number;
  phases: ReleasePhase[];
  lanes: MachineLane[];
  markers: ReleaseMarker[];
}

type LaneState = MachineLane['segments'][number]['state'];

const terminal: readonly DeploymentStatus[] = ['succeeded', 'failed', 'rolled_back', 'cancelled'];

const laneStates: Partial<Record<NodeDeploymentStatus, LaneState>> = {
  deploying: 'deploying',
  deployed: 'new',
  failed: 'failed',
  rolling_back: 'rolling_back',
  rolled_back: 'rolled_back',
};

const isStatus = (event: ReleaseEvent, status: string) =>
  event.kind === 'status' && event.status === status;
const isMachine = (event: ReleaseEvent, status: string) =>
  event.kind === 'machine' && event.status === status;

/** The steps of a node recorded before the timeline existed, from its times and status. */
function reconstructedSteps(
  deployment: Deployment,
  node: NodeDeployment,
  rollbackAt: number | undefined,
): ReleaseEvent[] {
  if (node.started_at === undefined) return [];
  const machine = { kind: 'machine' as const, machine_id: node.machine_id, batch: node.batch };
  const newVersion = { ...machine, version: deployment.package_version };
  const steps: ReleaseEvent[] = [{ ...newVersion, at: node.started_at, status: 'deploying' }];
  const finished = node.finished_at;
  const rollingBack =
    rollbackAt !== undefined &&
    rollbackAt >= node.started_at &&
    rollbackAt <= (finished ?? rollbackAt)
      ? {
          ...machine,
          at: rollbackAt,
          status: 'rolling_back' as const,
          version: deployment.previous_version,
        }
      : undefined;
  switch (node.status) {
    case 'deployed':
    case 'failed':
      if (finished !== undefined) steps.push({ ...newVersion, at: finished, status: node.status });
      break;
    case 'rolling_back':
      if (rollingBack !== undefined) steps.push(rollingBack);
      break;
    case 'rolled_back':
      if (rollingBack !== undefined) steps.push(rollingBack);
      if (finished !== undefined) {
        steps.push({ ...machine, at: finished, status: 'rolled_back', version: node.version });
      }
      break;
    default:
  }
  return steps;
}

/** When a rollback was asked for, as a deployment recorded before the timeline says it. */
function recordedRollbackAt(deployment: Deployment): number | undefined {
  return (
    deployment.rollback?.requested_at ??
    deployment.rollback?.detected_at ??
    deployment.actions?.find((action) => action.action === 'rollback')?.at
  );
}

/**
 * The release's steps, oldest first: its timeline, completed from what else the deployment
 * records for the steps taken before the timeline was kept (a release older than it, or one
 * running while relguard was upgraded): best effort, from the machines' start and finish times,
 * the rollback record and the actions.
 */
function stepsOf(deployment: Deployment): ReleaseEvent[] {
  const recorded = deployment.timeline ?? [];
  const steps = [...recorded];
  const rollbackAt = recordedRollbackAt(deployment);
  const known = new Set(recorded.filter((e) => e.kind === 'machine').map((e) => e.machine_id));
  for (const node of deployment.node_deployments) {
    if (!known.has(node.machine_id))
      steps.push(...reconstructedSteps(deployment, node, rollbackAt));
  }
  const rolledBack = ['rolling_back', 'rolled_back'].includes(deployment.status);
  if (
    rolledBack &&
    rollbackAt !== undefined &&
    !recorded.some((e) => isStatus(e, 'rolling_back'))
  ) {
    steps.push({ at: rollbackAt, kind: 'status', status: 'rolling_back' });
  }
  if (
    terminal.includes(deployment.status) &&
    !recorded.some((e) => e.kind === 'status' && terminal.includes(e.status as DeploymentStatus))
  ) {
    const last = Math.max(deployment.updatedTime, ...steps.map((e) => e.at));
    steps.push({
      at: last,
      kind: 'status',
      status: deployment.status,
      ...(deployment.reason === undefined ? {} : { reason: deployment.reason }),
    });
  }
  // Stable: steps written at the same millisecond keep the order they were recorded in.
  return steps
    .map((event, index) => ({ event, index }))
    .sort((a, b) => a.event.at - b.event.at || a.index - b.index)
    .map(({ event }) => event);
}

interface Batch {
  batch: number;
  machines: string[];
  /** The first of its machines started deploying. */
  started?: number;
  /** Every one of its machines finished deploying (deployed or failed). */
  finished?: number;
  /** One of its machines failed to deploy: the release does not go on from it. */
  failed: boolean;
}

function batchesOf(deployment: Deployment, steps: readonly ReleaseEvent[]): Batch[] {
  const numbers = [...new Set(deployment.node_deployments.map((node) => node.batch))].sort(
    (a, b) => a - b,
  );
  return numbers.map((batch): Batch => {
    const machines = deployment.node_deployments
      .filter((node) => node.batch === batch && node.status !== 'skipped')
      .map((node) => node.machine_id);
    const own = steps.filter(
      (e) => e.kind === 'machine' && e.machine_id !== undefined && machines.includes(e.machine_id),
    );
    const started = own.find((e) => e.status === 'deploying')?.at;
    // Each machine's deploy as it ended: the last deployed or failed, unless a deploy (a retry)
    // started after it.
    const ends = machines.map((id) => {
      const deploy = own.filter(
        (e) =>
          e.machine_id === id &&
          (e.status === 'deploying' || e.status === 'deployed' || e.status === 'failed'),
      );
      const last = deploy.at(-1);
      return last === undefined || last.status === 'deploying' ? undefined : last;
    });
    const finished =
      machines.length > 0 && ends.every((end) => end !== undefined)
        ? Math.max(...ends.map((end) => end.at))
        : undefined;
    return {
      batch,
      machines,
      failed: ends.some((end) => end?.status === 'failed'),
      ...(started === undefined ? {} : { started }),
      ...(finished === undefined ? {} : { finished }),
    };
  });
}

/** The stretch from `from` to the first of `to` and `end` that is known; none if empty. */
function phase(
  kind: ReleasePhase['kind'],
  label: string,
  from: number,
  to: number | undefined,
  end: number | undefined,
  batch?: number,
): ReleasePhase | undefined {
  if (end !== undefined && from > end) return undefined;
  const until = to === undefined ? end : end === undefined ? to : Math.min(to, end);
  return {
    kind,
    label,
    from,
    ...(until === undefined ? {} : { to: until }),
    ...(batch === undefined ? {} : { batch }),
  };
}

interface Moments {
  from: number;
  to: number | undefined;
  ending: ReleaseEvent | undefined;
  rollbackBegun: number | undefined;
  rollbackDone: number | undefined;
  batches: Batch[];
}

function momentsOf(deployment: Deployment, steps: readonly ReleaseEvent[]): Moments {
  const ending = steps.find(
    (e) => e.kind === 'status' && terminal.includes(e.status as DeploymentStatus),
  );
  const rollbackSteps = steps.filter(
    (e) => isStatus(e, 'rolling_back') || isMachine(e, 'rolling_back'),
  );
  const firstRolledBack = steps.find((e) => isMachine(e, 'rolled_back'))?.at;
  const begun = rollbackSteps[0]?.at ?? firstRolledBack;
  return {
    from: deployment.createdTime,
    to: ending?.at,
    ending,
    rollbackBegun: begun,
    rollbackDone: ending?.status === 'rolled_back' ? ending.at : undefined,
    batches: batchesOf(deployment, steps),
  };
}

function phasesOf(deployment: Deployment, moments: Moments): ReleasePhase[] {
  const { batches, rollbackBegun, to } = moments;
  // Rolling forward ends where the rollback begins, or with the release.
  const forwardEnd = rollbackBegun ?? to;
  const phases: (ReleasePhase | undefined)[] = [];
  const last = batches.at(-1)?.batch;
  batches.forEach((batch, index) => {
    if (batch.started === undefined) return;
    const gray = batch.batch === 0;
    phases.push(
      phase(
        gray ? 'gray' : 'batch',
        gray ? `gray machine ${batch.machines.join(', ')}` : `batch ${batch.batch}`,
        batch.started,
        batch.finished,
        forwardEnd,
        batch.batch,
      ),
    );
    if (batch.finished === undefined || batch.failed) return;
    const next = batches[index + 1];
    if (next !== undefined) {
      phases.push(
        phase(
          gray ? 'gray_bake' : 'batch_bake',
          gray ? 'gray bake' : `after batch ${batch.batch}`,
          batch.finished,
          next.started,
          forwardEnd,
          batch.batch,
        ),
      );
    } else if (batch.batch === last) {
      // A release of one machine bakes it and verifies it without a step between: one band.
      phases.push(
        gray
          ? phase(
              'gray_bake',
              'gray bake and verification',
              batch.finished,
              undefined,
              forwardEnd,
              0,
            )
          : phase('verification', 'verification', batch.finished, undefined, forwardEnd),
      );
    }
  });
  if (rollbackBegun !== undefined) {
    const target = deployment.previous_version || 'nothing';
    phases.push(
      phase('rollback', `rollback to ${target}`, rollbackBegun, moments.rollbackDone, to),
    );
  }
  return phases.filter((entry) => entry !== undefined);
}

function lanesOf(deployment: Deployment, steps: readonly ReleaseEvent[], moments: Moments) {
  return deployment.node_deployments.map((node): MachineLane => {
    const segments: MachineLane['segments'] = [
      { version: deployment.previous_version, from: moments.from, state: 'old' },
    ];
    for (const step of steps) {
      if (step.kind !== 'machine' || step.machine_id !== node.machine_id) continue;
      const state = laneStates[step.status as NodeDeploymentStatus];
      if (state === undefined) continue;
      const forward = state === 'deploying' || state === 'new' || state === 'failed';
      const version =
        step.version ?? (forward ? deployment.package_version : deployment.previous_version);
      const current = segments.at(-1)!;
      if (current.state === state && current.version === version) continue;
      current.to = Math.max(current.from, step.at);
      segments.push({ version, from: current.to, state });
    }
    if (moments.to !== undefined) segments.at(-1)!.to = Math.max(segments.at(-1)!.from, moments.to);
    return {
      machine_id: node.machine_id,
      batch: node.batch,
      // A stretch of no length (a step at the very start) is not drawn; the last one always is.
      segments: segments.filter(
        (segment, index) => index === segments.length - 1 || segment.to !== segment.from,
      ),
    };
  });
}

function markersOf(deployment: Deployment, moments: Moments): ReleaseMarker[] {
  const markers: ReleaseMarker[] = [
    {
      kind: 'start',
      at: moments.from,
      label: `release of ${deployment.package_version} started`,
    },
  ];
  const gray = moments.batches.find((batch) => batch.batch === 0);
  if (gray?.finished !== undefined && !gray.failed) {
    markers.push({
      kind: 'gray_deployed',
      at: gray.finished,
      label: `gray machine ${gray.machines.join(', ')} on ${deployment.package_version}`,
    });
  }
  for (const batch of moments.batches) {
    if (batch.batch === 0 || batch.started === undefined) continue;
    if (moments.rollbackBegun !== undefined && batch.started > moments.rollbackBegun) continue;
    markers.push({
      kind: 'batch',
      at: batch.started,
      label: `batch ${batch.batch} started`,
      batch: batch.batch,
    });
  }
  const rollback = deployment.rollback;
  const breach = rollback?.first_breach_at ?? rollback?.detected_at;
  if (breach !== undefined) {
    const rules = (rollback?.failing ?? [])
      .filter((result) => result.verdict === 'fail')
      .map((result) => result.rule);
    markers.push({
      kind: 'breach',
      at: breach,
      label: rules.length > 0 ? `breach: ${rules.join(', ')}` : 'breach',
    });
  }
  if (moments.rollbackBegun !== undefined) {
    const reason = deployment.rollback?.reason ?? deployment.reason;
    markers.push({
      kind: 'rollback_begun',
      at: moments.rollbackBegun,
      label: reason === undefined ? 'rollback began' : `rollback began: ${reason}`,
    });
  }
  if (moments.rollbackDone !== undefined) {
    markers.push({
      kind: 'rollback_done',
      at: moments.rollbackDone,
      label: `rolled back to ${deployment.previous_version || 'nothing'}`,
    });
  }
  const ending = moments.ending;
  if (
    ending !== undefined &&
    (ending.status === 'succeeded' || ending.status === 'failed' || ending.status === 'cancelled')
  ) {
    markers.push({
      kind: ending.status,
      at: ending.at,
      label: ending.reason === undefined ? ending.status : `${ending.status}: ${ending.reason}`,
    });
  }
  // Stable: a marker of the same millisecond keeps its place (start before the gray deploy).
  return markers
    .map((marker, index) => ({ marker, index }))
    .sort((a, b) => a.marker.at - b.marker.at || a.index - b.index)
    .map(({ marker }) => marker);
}

/** The release as a timeline: phases, machine lanes and markers on one time axis. */
export function releaseTimeline(deployment: Deployment): ReleaseTimeline {
  const steps = stepsOf(deployment);
  const moments = momentsOf(deployment, steps);
  return {
    from: moments.from,
    ...(moments.to === undefined ? {} : { to: moments.to }),
    phases: phasesOf(deployment, moments),
    lanes: lanesOf(deployment, steps, moments),
    markers: markersOf(deployment, moments),
  };
}

/**
 * The release's moments, oldest first: start, gray machine deployed, each batch, the breach,
 * the rollback begun and done, the ending (succeeded, failed, cancelled).
 */
export function releaseMarkers(deployment: Deployment): ReleaseMarker[] {
  const steps = stepsOf(deployment);
  return markersOf(deployment, momentsOf(deployment, steps));
}
