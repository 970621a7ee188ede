import type {
  Alert,
  AlertDelivery,
  AlertKind,
  Application,
  Deployment,
  RuleResult,
} from '../domain';
import {
  alertAttempts,
  analysisWorkflowId,
  machinesWith,
  releasePageUrl,
  releaseWorkflowId,
  reportChartUrl,
  touchedNodeStatuses,
} from '../domain';
import type { Repositories } from './db';
import { asActivity } from './failures';
import type { Logger } from './logger';
import type { SendAlertAttempt, SendAlertOptions } from './notifier';

export interface ReleaseAlertDeps {
  store: Repositories;
  /** Delivers one alert to the named channels (see activities/notifier). */
  sendAlert(
    request: { channels: string[]; alert: Alert },
    options?: SendAlertOptions,
  ): Promise<{ delivered: string[] }>;
  /** Where the links in alerts point: the console's pages come first. */
  links: AlertLinks;
  logger: Logger;
}

export interface ReleaseAlertRequest {
  deploymentId: string;
  kind: Exclude<AlertKind, 'analysis_ready' | 'machine_down' | 'machine_recovered'>;
  reason: string;
  failing: RuleResult[];
}

export interface AlertLinks {
  temporalUiUrl: string;
  namespace: string;
  apiUrl: string;
  /** The web console as people reach it (CONSOLE_PUBLIC_URL), without a trailing slash. */
  consoleUrl: string;
}

/**
 * What one attempt to send an alert did, per channel, as recorded on the deployment: a channel
 * that took it is `sent`; one that did not is `retrying` while the activity will be tried again
 * (the failure is retryable and attempts are left), else `failed`. Channels that took the alert
 * in an earlier attempt are not recorded again.
 */
export function deliveriesOf(
  kind: AlertKind,
  attempt: SendAlertAttempt,
  at: number,
): AlertDelivery[] {
  const retried = attempt.retryable && attempt.attempt < alertAttempts;
  return [
    ...attempt.sent.map((channel): AlertDelivery => ({
      kind,
      channel,
      status: 'sent',
      attempt: attempt.attempt,
      at,
    })),
    ...attempt.failed.map((failure): AlertDelivery => ({
      kind,
      channel: failure.channel,
      status: retried && failure.retryable ? 'retrying' : 'failed',
      attempt: attempt.attempt,
      error: failure.message,
      at,
    })),
  ];
}

/** Alerts about a release: what happened, its evidence, what relguard did, where to look. */
export function createReleaseAlertActivities(deps: ReleaseAlertDeps) {
  const { temporalUiUrl, namespace, apiUrl, consoleUrl } = deps.links;
  const workflowLink = (label: string, workflowId: string) => ({
    label,
    url: `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`,
  });
  const deploymentLink = (deployment: Deployment) => ({
    label: 'Deployment',
    url: `${apiUrl}/api/v1/deployments/${deployment.id}`,
  });
  const analysisLink = (deployment: Deployment) => ({
    label: 'Analysis',
    url: `${apiUrl}/api/v1/deployments/${deployment.id}/analysis?format=markdown`,
  });
  /** The console's release page: the first thing a person opens. */
  const releasePageLink = (deployment: Deployment) => ({
    label: 'Release',
    url: releasePageUrl(consoleUrl, deployment.id),
  });
  /** The report as the console shows it, on the release page. */
  const reportLink = (deployment: Deployment) => ({
    label: 'Report',
    url: `${releasePageUrl(consoleUrl, deployment.id)}#analysis-report`,
  });
  /** A rollback starts the analysis; its alert says where the report will be. */
  const analysisFollows = (app: Application, kind: AlertKind) =>
    kind === 'rolled_back' && app.rollback_policy.ai_analysis;

  /** Sends the alert and records, per channel, what this attempt did on the deployment. */
  async function send(app: Application, deployment: Deployment, alert: Alert) {
    const channels = app.rollback_policy.notify;
    if (channels.length === 0) return { delivered: [] };
    const result = await deps.sendAlert(
      { channels, alert },
      {
        onAttempt: async (attempt) => {
          const deliveries = deliveriesOf(alert.kind, attempt, Date.now());
          try {
            await deps.store.deployments.recordAlertDeliveries(deployment.id, deliveries);
          } catch (error) {
            // The alert's fate is the activity's result; the record is worth a loud log.
            deps.logger.error(
              { err: error, deployment: deployment.id, kind: alert.kind, deliveries },
              'alert deliveries not recorded on the deployment',
            );
          }
        },
      },
    );
    deps.logger.info(
      { app: app.name, deployment: deployment.id, kind: alert.kind, delivered: result.delivered },
      'alert sent',
    );
    return result;
  }

  return {
    /** Sends one alert to the application's channels (rollback_policy.notify), if it has any. */
    async sendReleaseAlert(request: ReleaseAlertRequest): Promise<{ delivered: string[] }> {
      return asActivity(async () => {
        const deployment = await deps.store.deployments.get(request.deploymentId);
        const app = await deps.store.applications.get(deployment.app_id);
        const machines = machinesWith(deployment, touchedNodeStatuses);
        const previous = deployment.previous_version || 'nothing (first release)';
        const action = {
          rolled_back: `rolled back ${machines.length} machine(s) to ${previous}`,
          paused: 'paused the release: resume or roll it back from the api or the CLI',
          release_failed: 'stopped the release; the machines are as it left them',
          guard_blind:
            'let the release go on (no_data: ignore) without a guard: watch it, or pause it from the api or the CLI',
        }[request.kind];
        const what = {
          rolled_back: 'rolled back',
          paused: 'paused',
          release_failed: 'failed',
          guard_blind: 'is not guarded',
        }[request.kind];
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
            releasePageLink(deployment),
            workflowLink('Workflow', releaseWorkflowId(app.name, deployment.id)),
            ...(analysisFollows(app, request.kind)
              ? [reportLink(deployment), analysisLink(deployment)]
              : []),
            deploymentLink(deployment),
          ],
          at: Date.now(),
        };
        return await send(app, deployment, alert);
      });
    },

    /** Says that the root-cause report of a deployment is written, with its gist and link. */
    async sendAnalysisAlert(request: { deploymentId: string }): Promise<{ delivered: string[] }> {
      return asActivity(async () => {
        const deployment = await deps.store.deployments.get(request.deploymentId);
        const app = await deps.store.applications.get(deployment.app_id);
        const report = await deps.store.analysisReports.findByDeployment(deployment.id);
        if (report === undefined) return { delivered: [] };
        const suspect = report.suspect_changes[0];
        const culprit =
          suspect === undefined
            ? 'no pull request stands out'
            : `most likely ${suspect.number === undefined ? '' : `#${suspect.number} `}${suspect.title}`;
        const alert: Alert = {
          kind: 'analysis_ready',
          title: `${app.name} ${deployment.package_version} analysis: ${report.summary}`,
          app: app.name,
          version: deployment.package_version,
          previous_version: deployment.previous_version,
          deployment_id: deployment.id,
          machines: [],
          failing: [],
          action: `${report.analyzer} analysis (confidence ${Math.round(report.confidence * 100)}%): ${report.fault_class}, ${culprit}. ${report.root_cause}`,
          links: [
            reportLink(deployment),
            // Each anomalous metric's chart from before the release through the rollback.
            ...report.anomalous_metrics.map((metric, index) => ({
              label: `Chart: ${metric.name}`,
              url: reportChartUrl(consoleUrl, deployment.id, index),
            })),
            releasePageLink(deployment),
            workflowLink('Analysis workflow', analysisWorkflowId(deployment.id)),
            analysisLink(deployment),
            deploymentLink(deployment),
          ],
          at: Date.now(),
        };
        return await send(app, deployment, alert);
      });
    },
  };
}
