/** Release workflow ids say what they are: `release-<app>-<deploymentId>`. */
export function releaseWorkflowId(appName: string, deploymentId: string): string {
  return `release-${appName}-${deploymentId}`;
}

/** One analysis per deployment: `analysis-<deploymentId>`; a later run replaces its report. */
export function analysisWorkflowId(deploymentId: string): string {
  return `analysis-${deploymentId}`;
}
