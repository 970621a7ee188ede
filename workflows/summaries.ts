// What the Temporal UI shows for relguard's workflows: one-line summaries on activities, timers
// and child workflows (user metadata on their commands), in one place so that they read alike.
// User metadata is not compared when a history is replayed: changing a text needs no patch.
// Workflow code: pure functions only.

/** A duration in whole seconds, as people read it: `60 s`. */
export const secondsText = (seconds: number): string => `${Math.round(seconds)} s`;

export const summaries = {
  loadRelease: (deploymentId: string) => `load the plan of release ${deploymentId}`,
  findPackage: (app: string, version: string) => `find the package of ${app} ${version}`,
  buildPackage: (app: string, version: string) => `build ${app} ${version}`,
  deploy: (machine: string, version: string) => `deploy ${machine} to ${version}`,
  rollBack: (machine: string, version: string) => `roll back ${machine} to ${version}`,
  /** A first release has nothing to go back to. */
  stop: (machine: string) => `stop ${machine} (no previous version to go back to)`,
  recordStatus: (status: string) => `record status ${status}`,
  finish: (status: string) => `finish the release: ${status.replace('_', ' ')}`,
  alert: (kind: string) => `send the ${kind.replace('_', ' ')} alert`,
  judge: (app: string, version: string, baseline: string) =>
    baseline ? `judge ${app} ${version} against ${baseline}` : `judge ${app} ${version}`,
  nextEvaluation: (seconds: number) => `next evaluation in ${secondsText(seconds)}`,
  guard: (app: string, version: string, intervalSeconds: number) =>
    `metric guard of ${app} ${version}: every ${secondsText(intervalSeconds)}`,
  analysis: (app: string, version: string) => `root-cause analysis of ${app} ${version}`,
  /** The package workflow knows the application by its id only. */
  packageOf: (appId: string, version: string) => `build or find ${version} of application ${appId}`,
  collectContext: (deploymentId: string) => `collect what happened around release ${deploymentId}`,
  runAnalyzer: (analyzer: string) => `run the ${analyzer} analyzer`,
  saveReport: (analyzer: string) => `save the ${analyzer} report`,
  analysisAlert: (deploymentId: string) => `send the analysis alert of release ${deploymentId}`,
  checkMachines: (appId: string) => `check the machines of application ${appId}`,
  recordMachineStatuses: (changes: number) => `record ${changes} machine status change(s)`,
  announceMachineHealth: (notices: number) => `send ${notices} machine health notice(s)`,
  nextCheck: (seconds: number) => `next check in ${secondsText(seconds)}`,
};

/**
 * The summary of a release's wait: `waitId` is the judgement it ends with (`batch-0` after the
 * gray machine, `batch-<n>` after batch n, `verify` after the last). `leftSeconds` is set when a
 * pause stopped the clock and the wait goes on with what was left.
 */
export function waitSummary(waitId: string, seconds: number, leftSeconds?: number): string {
  const batch = /^batch-(\d+)$/.exec(waitId)?.[1];
  const what =
    batch === '0'
      ? `gray bake ${secondsText(seconds)}`
      : batch !== undefined
        ? `bake after batch ${batch}, ${secondsText(seconds)}`
        : waitId === 'verify'
          ? `verify all machines, ${secondsText(seconds)}`
          : `${waitId}, ${secondsText(seconds)}`;
  return leftSeconds === undefined || leftSeconds >= seconds
    ? what
    : `${what} (${secondsText(leftSeconds)} left after a pause)`;
}
