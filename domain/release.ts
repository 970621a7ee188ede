/** Release workflow ids say what they are: `release-<app>-<deploymentId>`. */
export function releaseWorkflowId(appName: string, deploymentId: string): string {
  return `release-${appName}-${deploymentId}`;
}
