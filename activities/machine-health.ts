import { Context } from '@temporalio/activity';
import {
  HealthSettings,
  type Alert,
  type DeploymentPlatform as PlatformKind,
  type HealthNotice,
  type MachineObservation,
  type MachineStatus,
  type MachineStatusRecord,
  type ScrapeHealth,
} from '../domain';
import { appHealthWorkflowId, describeNotice } from '../domain/machine-health';
import { errorMessage } from '../domain/errors';
import { promqlString } from '../domain/policy';
import { mapConcurrently } from './concurrency';
import type { Repositories } from './db';
import { asActivity } from './failures';
import type { Logger } from './logger';
import type { MetricSource } from './metrics/types';
import type { DeployPlatform } from './platform/types';
import { writeTargets } from './prometheus-targets';
import type { AlertLinks } from './release-alerts';

export interface MachineHealthDeps {
  store: Pick<Repositories, 'applications' | 'deployments' | 'machineEvents'>;
  metrics: MetricSource;
  platforms: Record<PlatformKind, DeployPlatform>;
  /** Delivers one alert to the named channels (see activities/notifier). */
  sendAlert(request: { channels: string[]; alert: Alert }): Promise<{ delivered: string[] }>;
  links: AlertLinks;
  logger: Logger;
  /**
   * Prometheus' scrape interval for the machines: a machine changed this recently may not be
   * discovered and scraped yet (see discoveryGraceMs).
   */
  scrapeIntervalSeconds: number;
  /** Prometheus' file-SD folder: a stopped machine leaves it. */
  targetsDir: string;
  /** Health checks asked at once; each waits at most the platform's probe timeout. */
  checkConcurrency?: number;
}

/** An alert Alertmanager said fires for a machine, as the watcher keeps it. */
export interface MachineAlert {
  name: string;
  machineId: string;
}

/** One machine as one check saw it, with what is stored of it. */
export interface CheckedMachine {
  observation: MachineObservation;
  stored: { status: MachineStatus; status_reason?: string; status_since?: number };
  /**
   * A release is putting a version on it right now: its process restarts on purpose, and the
   * release (and its guard) judges it.
   */
  deploying: boolean;
}

export type MachineHealthCheck =
  | { gone: true }
  | {
      gone: false;
      appName: string;
      health: HealthSettings;
      machines: CheckedMachine[];
    };

export interface MachineStatusChange {
  machineId: string;
  version: string;
  record: MachineStatusRecord;
}

const defaultCheckConcurrency = 32;

/**
 * How long after a machine's status changed (a deploy writes it) a missing Prometheus target
 * is expected: the file-SD refresh, then up to one scrape interval before the first scrape,
 * with room for one missed scrape.
 */
export function discoveryGraceMs(scrapeIntervalSeconds: number): number {
  return (5 + 3 * scrapeIntervalSeconds) * 1000;
}
/** Deployment states in which a release is changing the machine's process. */
const changing = new Set(['deploying', 'rolling_back']);

/** Per instance, the value of each sample (`up`) or the alert names (`ALERTS`). */
function byInstance<T>(
  samples: { metric: Record<string, string>; value: number }[],
  pick: (sample: { metric: Record<string, string>; value: number }) => T,
): Map<string, T[]> {
  const result = new Map<string, T[]>();
  for (const sample of samples) {
    const instance = sample.metric.instance;
    if (instance === undefined) continue;
    result.set(instance, [...(result.get(instance) ?? []), pick(sample)]);
  }
  return result;
}

/**
 * The activities of the health watcher (workflows/app-health): see every machine of an
 * application, write the statuses the watcher decided, tell people. Each is idempotent.
 */
export function createMachineHealthActivities(deps: MachineHealthDeps) {
  const { store, metrics, logger } = deps;

  return {
    /**
     * Asks, for every machine of the application at once: its health check through its
     * platform, its target's `up` in Prometheus, and the alerts firing for it (Prometheus'
     * ALERTS, plus those Alertmanager's webhook reported, given by the watcher). Read-only.
     */
    async checkMachines(request: {
      appId: string;
      webhookAlerts: MachineAlert[];
    }): Promise<MachineHealthCheck> {
      return asActivity(async () => {
        const app = await store.applications.find(request.appId);
        if (app === undefined) return { gone: true };
        const active =
          app.active_deployment_id === undefined
            ? undefined
            : await store.deployments.find(app.active_deployment_id);
        const deploying = new Set(
          (active?.node_deployments ?? [])
            .filter((node) => changing.has(node.status))
            .map((node) => node.machine_id),
        );

        const selector = `app="${promqlString(app.name)}"`;
        const [up, alerts] = await Promise.all([
          metrics.instantQuery(`up{${selector}}`).then(
            (answer) => ({
              ok: true as const,
              byInstance: byInstance(
                answer.resultType === 'vector' ? answer.samples : [],
                (s) => s.value,
              ),
            }),
            (error: unknown) => ({ ok: false as const, reason: errorMessage(error) }),
          ),
          metrics.instantQuery(`ALERTS{${selector},alertstate="firing"}`).then(
            (answer) =>
              byInstance(
                answer.resultType === 'vector' ? answer.samples : [],
                (s) => s.metric.alertname ?? 'unnamed alert',
              ),
            // Prometheus out: `up` says so for every machine; webhook alerts still count.
            () => new Map<string, string[]>(),
          ),
        ]);

        const platform = deps.platforms[app.deployment_platform];
        const heartbeat = () => {
          if (Context.current().info.heartbeatTimeoutMs !== undefined)
            Context.current().heartbeat();
        };
        const machines = await mapConcurrently(
          app.machines,
          deps.checkConcurrency ?? defaultCheckConcurrency,
          async (machine): Promise<CheckedMachine> => {
            // Alive: a worker that dies mid-check is noticed at the heartbeat timeout, not
            // at the end of the check's whole time.
            heartbeat();
            let check: MachineObservation['check'];
            try {
              const answer = await platform.health({ app, machine });
              check = answer.healthy
                ? { state: 'ok' }
                : { state: 'failed', reason: answer.error ?? `HTTP ${answer.status ?? '?'}` };
            } catch (error) {
              check = { state: 'unreachable', reason: errorMessage(error) };
            }
            let scrape: ScrapeHealth;
            if (!up.ok) {
              scrape = { state: 'unavailable', reason: up.reason };
            } else {
              const values = up.byInstance.get(machine.id);
              const changedAt = machine.status_since;
              const recent =
                changedAt !== undefined &&
                Date.now() - changedAt < discoveryGraceMs(deps.scrapeIntervalSeconds);
              scrape =
                values === undefined
                  ? { state: recent ? 'discovering' : 'absent' }
                  : values.some((value) => value === 1)
                    ? { state: 'up' }
                    : { state: 'down' };
            }
            const firing = [
              ...(alerts.get(machine.id) ?? []),
              ...request.webhookAlerts
                .filter((alert) => alert.machineId === machine.id)
                .map((alert) => alert.name),
            ];
            return {
              observation: {
                machineId: machine.id,
                version: machine.version,
                check,
                scrape,
                alerts: firing,
              },
              stored: {
                status: machine.status,
                ...(machine.status_reason === undefined
                  ? {}
                  : { status_reason: machine.status_reason }),
                ...(machine.status_since === undefined
                  ? {}
                  : { status_since: machine.status_since }),
              },
              deploying: deploying.has(machine.id),
            };
          },
        );
        // Applications stored before the setting existed have none: the defaults.
        const health = HealthSettings.parse(app.health ?? {});
        return { gone: false, appName: app.name, health, machines };
      });
    },

    /**
     * Writes the statuses the watcher decided (the counts follow) and records each change in
     * the machine's history. A machine a release changed since the check is left to the release.
     */
    async recordMachineStatuses(request: {
      appId: string;
      changes: MachineStatusChange[];
    }): Promise<{ written: string[] }> {
      return asActivity(async () => {
        const app = await store.applications.find(request.appId);
        if (app === undefined) return { written: [] };
        const current = new Map(app.machines.map((machine) => [machine.id, machine]));
        const written = request.changes.filter(
          (change) => current.get(change.machineId)?.version === change.version,
        );
        await Promise.all(
          written.map((change) =>
            store.applications.updateMachine(app.id, change.machineId, change.record),
          ),
        );
        await store.machineEvents.record(
          written.map((change) => ({
            app_id: app.id,
            machine_id: change.machineId,
            status: change.record.status,
            reason: change.record.status_reason,
            version: change.version,
            at: change.record.status_since,
          })),
        );
        for (const change of written) {
          logger.info(
            {
              app: app.name,
              machine: change.machineId,
              version: change.version,
              status: change.record.status,
              reason: change.record.status_reason,
            },
            'machine status',
          );
        }
        return { written: written.map((change) => change.machineId) };
      });
    },

    /**
     * Stops one machine of an application that is being deleted, through its platform, and
     * records it: version none, status unknown, an event in its history, out of Prometheus'
     * targets. Idempotent (the platform's stop is).
     */
    async retireMachine(request: { appId: string; machineId: string }): Promise<void> {
      await asActivity(async () => {
        const app = await store.applications.get(request.appId);
        const machine = app.machines.find((candidate) => candidate.id === request.machineId);
        if (machine === undefined) return;
        await deps.platforms[app.deployment_platform].stop({ app, machine });
        const at = Date.now();
        const reason = `stopped when the application was deleted (it ran ${machine.version || 'no version'})`;
        const updated = await store.applications.updateMachine(app.id, machine.id, {
          version: '',
          status: 'unknown',
          status_reason: reason,
          status_since: at,
        });
        await store.machineEvents.record([
          {
            app_id: app.id,
            machine_id: machine.id,
            status: 'unknown',
            reason,
            version: machine.version,
            at,
          },
        ]);
        await writeTargets(deps.targetsDir, updated);
        logger.info(
          { app: app.name, machine: machine.id, version: machine.version },
          'machine retired',
        );
      });
    },

    /**
     * Tells the application's channels (rollback_policy.notify) what changed in one check, in
     * one alert. An application with no channel is logged as a warning: its history and
     * statuses still say it.
     */
    async announceMachineHealth(request: {
      appId: string;
      notices: HealthNotice[];
    }): Promise<{ delivered: string[] }> {
      return asActivity(async () => {
        const app = await store.applications.find(request.appId);
        if (app === undefined || request.notices.length === 0) return { delivered: [] };
        const lines = request.notices.map((notice) => describeNotice(notice, app.name));
        const bad = request.notices.some(
          (notice) =>
            ['down', 'blind', 'flapping'].includes(notice.kind) ||
            (notice.kind === 'settled' && notice.status === 'error'),
        );
        const channels = app.rollback_policy.notify;
        if (channels.length === 0) {
          logger.warn(
            { app: app.name, notices: lines },
            'machine health changed and the application names no notify channel',
          );
          return { delivered: [] };
        }
        const { temporalUiUrl, namespace, apiUrl, consoleUrl } = deps.links;
        const workflowId = appHealthWorkflowId(app.id);
        const alert: Alert = {
          kind: bad ? 'machine_down' : 'machine_recovered',
          title: lines.length === 1 ? lines[0]! : `${app.name}: ${lines.length} machines changed`,
          app: app.name,
          version: [...new Set(request.notices.map((notice) => notice.version))]
            .filter(Boolean)
            .join(', '),
          previous_version: '',
          deployment_id: '',
          machines: request.notices.map((notice) => notice.machineId),
          failing: [],
          action: lines.join('; '),
          links: [
            // The console's application page first: what a person opens.
            { label: 'Console', url: `${consoleUrl}/apps/${encodeURIComponent(app.id)}` },
            { label: 'Application', url: `${apiUrl}/api/v1/applications/${app.id}` },
            {
              label: 'Health watcher',
              url: `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`,
            },
          ],
          at: Math.max(...request.notices.map((notice) => notice.since)),
        };
        const result = await deps.sendAlert({ channels, alert });
        logger.info({ app: app.name, delivered: result.delivered, notices: lines }, 'health alert');
        return result;
      });
    },
  };
}

export type MachineHealthActivities = ReturnType<typeof createMachineHealthActivities>;
