import type { Alert, AlertKind, RuleResult } from '../domain';
import { releaseWorkflowId } from '../domain';
import type { Repositories } from './db';
import { asActivity } from './failures';
import type { Logger } from './logger';

export interface ReleaseAlertDeps {
  store: Repositories;
  /** Delivers one alert to the named channels (see activities/notifier). */
  sendAlert(request: { channels: string[]; alert: Alert }): Promise<{ delivered: string[] }>;
  links: { temporalUiUrl: string; namespace: string; apiUrl: string };
  logger: Logger;
}

export interface ReleaseAlertRequest {
  deploymentId: string;
  kind: AlertKind;
  reason: string;
  failing: RuleResult[];
}

const touchedStatuses = ['deploying', 'deployed', 'failed', 'rolling_back', 'rolled_back'];

/** Alerts about a release: what happened, its evidence, what relguard did, where to look. */
export function createReleaseAlertActivities(deps: ReleaseAlertDeps) {
  return {
    /** Sends one alert to the application's channels (rollback_policy.notify), if it has any. */
    async sendReleaseAlert(request: ReleaseAlertRequest): Promise<{ delivered: string[] }> {
      return asActivity(async () => {
        const deployment = await deps.store.deployments.get(request.deploymentId);
        const app = await deps.store.applications.get(deployment.app_id);
        const channels = app.rollback_policy.notify;
        if (channels.length === 0) return { delivered: [] };

        const machines = deployment.node_deployments
          .filter((node) => touchedStatuses.includes(node.status))
          .map((node) => node.machine_id);
        const previous = deployment.previous_version || 'nothing (first release)';
        const action = {
          rolled_back: `rolled back ${machines.length} machine(s) to ${previous}`,
          paused: 'paused the release: resume or roll it back from the api or the CLI',
          release_failed: 'stopped the release; the machines are as it left them',
        }[request.kind];
        const what = {
          rolled_back: 'rolled back',
          paused: 'paused',
          release_failed: 'failed',
        }[request.kind];
        const workflowId = releaseWorkflowId(app.name, deployment.id);
        const { temporalUiUrl, namespace, apiUrl } = deps.links;
        const alert: Alert = {
          kind: request.kind,
          title: `${app.name} ${deployment.package_version} ${what}: ${request.reason}`,
          app: app.name,
          version: deployment.package_version,
          previous_version: deployment.previous_version,
          deployment_id: deployment.id,
          machines,
          failing: request.failing,
          action,
          links: [
            { label: 'Deployment', url: `${apiUrl}/api/v1/deployments/${deployment.id}` },
            {
              label: 'Workflow',
              url: `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`,
            },
          ],
          at: Date.now(),
        };
        const result = await deps.sendAlert({ channels, alert });
        deps.logger.info(
          {
            app: app.name,
            deployment: deployment.id,
            kind: request.kind,
            delivered: result.delivered,
          },
          'alert sent',
        );
        return result;
      });
    },
  };
}
