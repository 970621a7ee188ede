/** Release workflow ids say what they are: `release-<app>-<deploymentId>`. */
export function releaseWorkflowId(appName: string, deploymentId: string): string {
  return `release-${appName}-${deploymentId}`;
}

/** One analysis per deployment: `analysis-<deploymentId>`; a later run replaces its report. */
export function analysisWorkflowId(deploymentId: string): string {
  return `analysis-${deploymentId}`;
}

/**
 * One build per application version: `package-<appId>-<version>`. Keyed by the application's
 * id, not its name: a name can be deleted and created again, a version's build is its own.
 * Every caller (the api, a webhook, a release) starts it or joins the one running.
 */
export function packageWorkflowId(appId: string, version: string): string {
  return `package-${appId}-${version}`;
}
