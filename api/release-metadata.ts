import { releasePageUrl, type Deployment } from '../domain';

/** Where people open a release: the console's pages and the api. */
export interface ReleaseLinks {
  /** The console's public base URL, without a trailing slash (CONSOLE_PUBLIC_URL). */
  consoleUrl?: string | undefined;
  /** The api's public base URL (API_PUBLIC_URL). */
  apiUrl?: string | undefined;
}

/** Machine names listed per batch before the rest are counted. */
const machinesListed = 8;

const trimmed = (url: string) => url.replace(/\/+$/, '');

/** Who started the release: the api token's name, or `github:<login>`. */
export function startedBy(deployment: Pick<Deployment, 'actions'>): string {
  return deployment.actions?.find((action) => action.action === 'start')?.by ?? 'unknown';
}

/** The release workflow's static summary: `shop v1.1.0 (from v1.0.0) by ci-token`. */
export function releaseStaticSummary(
  deployment: Pick<Deployment, 'app_name' | 'package_version' | 'previous_version' | 'actions'>,
): string {
  const from = deployment.previous_version
    ? `from ${deployment.previous_version}`
    : 'first release';
  return `${deployment.app_name} ${deployment.package_version} (${from}) by ${startedBy(deployment)}`;
}

/**
 * The release workflow's static details, in Temporal markdown: the application, the versions,
 * the gray machine and the batches, who started it, and the links to the release elsewhere.
 */
export function releaseStaticDetails(deployment: Deployment, links: ReleaseLinks = {}): string {
  const batches = new Map<number, string[]>();
  for (const node of deployment.node_deployments) {
    batches.set(node.batch, [...(batches.get(node.batch) ?? []), node.machine_id]);
  }
  const listed = (machines: string[]) =>
    machines.length > machinesListed
      ? `${machines.slice(0, machinesListed).join(', ')} and ${machines.length - machinesListed} more`
      : machines.join(', ');
  const batchLines = [...batches]
    .filter(([batch]) => batch > 0)
    .sort(([a], [b]) => a - b)
    .map(([batch, machines]) => `  - batch ${batch}: ${listed(machines)}`);
  const lines = [
    `**${deployment.app_name} ${deployment.package_version}**, started by ${startedBy(deployment)}`,
    '',
    `- application: ${deployment.app_name} (${deployment.app_id}), platform ${deployment.platform}`,
    `- version: ${deployment.package_version}, ${
      deployment.previous_version
        ? `restores ${deployment.previous_version} on rollback`
        : 'first release (nothing to roll back to: machines are stopped)'
    }`,
    `- gray machine: ${deployment.gray_machine_id}`,
    `- batches after the gray machine: ${batchLines.length === 0 ? 'none' : ''}`,
    ...batchLines,
    `- deployment: ${deployment.id}`,
  ];
  if (links.consoleUrl !== undefined) {
    const base = trimmed(links.consoleUrl);
    lines.push(
      `- [release page](${releasePageUrl(base, deployment.id)})`,
      `- [application page](${base}/apps/${encodeURIComponent(deployment.app_id)})`,
    );
  }
  if (links.apiUrl !== undefined) {
    const api = `${trimmed(links.apiUrl)}/api/v1/deployments/${encodeURIComponent(deployment.id)}`;
    lines.push(`- [deployment in the api](${api}), [analysis report](${api}/analysis)`);
  }
  return lines.join('\n');
}
