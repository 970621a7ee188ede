import { createRoute, OpenAPIHono, z, type RouteHandler } from '@hono/zod-openapi';
import type { FiringAlert } from '../../activities/analyzer/types';
import type { Application, Deployment } from '../../domain';
import type { MachineAlertsUpdate } from '../../workflows/app-health/messages';
import type { ApiEnv } from '../context';
import { validationHook } from '../errors';
import { errorResponses, withJsonBodyErrors } from '../responses';

/** One alert of Alertmanager's webhook (payload version 4); fields relguard does not read pass. */
const AlertmanagerAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.iso.datetime({ offset: true }),
  fingerprint: z.string().optional(),
});

export const AlertmanagerPayload = z
  .looseObject({
    version: z.string(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().optional(),
    alerts: z.array(AlertmanagerAlert).max(1000),
  })
  .openapi('AlertmanagerWebhook');

const Outcome = z.object({
  started: z.array(
    z.object({
      app: z.string(),
      deployment_id: z.string(),
      workflow_id: z.string(),
      alerts: z.array(z.string()),
    }),
  ),
  ignored: z.array(z.object({ alert: z.string(), reason: z.string() })),
  /** Machines marked `alert` (firing) or cleared (resolved), through their health watcher. */
  machines: z.array(
    z.object({
      app: z.string(),
      machine_id: z.string(),
      alert: z.string(),
      status: z.enum(['firing', 'resolved']),
    }),
  ),
});

const route = createRoute({
  method: 'post',
  path: '/api/v1/webhooks/alertmanager',
  tags: ['webhooks'],
  operationId: 'receiveAlertmanagerWebhook',
  summary:
    'Alertmanager webhook: mark the alerting machines, analyse the recent release of the applications that alert',
  description:
    "An alert whose `app` and `instance` labels (ALERT_APP_LABEL, ALERT_INSTANCE_LABEL) name an application and one of its machines (id, host:port or host) marks that machine `alert` while it fires and clears it when resolved, through the application's health watcher. For each firing alert with an `app` label naming an application whose last release started within the lookback, starts that deployment's analysis (one per deployment; a running one is joined, an alert already analysed is not analysed again). Resolved alerts start no analysis. Alertmanager sends a deployer token: `http_config: { authorization: { credentials: <token> } }` in its webhook receiver. Its deliveries are not counted by the write rate limit (a 429 would drop an alert).",
  request: {
    body: { required: true, content: { 'application/json': { schema: AlertmanagerPayload } } },
  },
  responses: withJsonBodyErrors({
    202: {
      description: 'What was started and what was ignored, with why',
      content: { 'application/json': { schema: Outcome } },
    },
    503: errorResponses[503],
  }),
});

const alertName = (labels: Record<string, string>): string => labels.alertname ?? 'unnamed alert';

/** Alertmanager's fingerprint, or the alert's labels when it sends none: the same alert. */
function alertKey(alert: z.infer<typeof AlertmanagerAlert>): string {
  if (alert.fingerprint !== undefined) return alert.fingerprint;
  const labels = Object.entries(alert.labels).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(labels);
}

/**
 * The Alertmanager webhook; `lookbackMs` is how recent a release must be to be suspected,
 * `labels` which alert labels name the application and the machine.
 */
export function alertmanagerWebhook(options: {
  lookbackMs: number;
  labels: { app: string; instance: string };
  now?: () => number;
}) {
  const now = options.now ?? Date.now;

  const handler: RouteHandler<typeof route, ApiEnv> = async (c) => {
    const { store, releases, logger } = c.var;
    const payload = c.req.valid('json');
    const ignored: z.infer<typeof Outcome>['ignored'] = [];
    const byDeployment = new Map<string, { deployment: Deployment; alerts: FiringAlert[] }>();

    // The alerts of one group are mostly one app's (one per instance): each app is read once.
    const lastRelease = async (appName: string) => {
      const app = await store.applications.findByName(appName);
      if (app === undefined) return { app };
      const [latest] = await store.deployments.list({ app_id: app.id, limit: 1 });
      if (latest === undefined) return { app, latest };
      return { app, latest, report: await store.analysisReports.findByDeployment(latest.id) };
    };
    const lastReleaseOf = new Map<string, ReturnType<typeof lastRelease>>();

    // The machines each alert names, per application, for its health watcher.
    const machines: z.infer<typeof Outcome>['machines'] = [];
    const updates = new Map<string, { app: Application; update: MachineAlertsUpdate }>();
    for (const alert of payload.alerts) {
      const appName = alert.labels[options.labels.app];
      const instance = alert.labels[options.labels.instance];
      if (appName === undefined || instance === undefined) continue;
      const app = updates.get(appName)?.app ?? (await store.applications.findByName(appName));
      if (app === undefined) continue;
      const machine =
        app.machines.find((candidate) => candidate.id === instance) ??
        app.machines.find((candidate) => `${candidate.host}:${candidate.port}` === instance) ??
        app.machines.find((candidate) => candidate.host === instance);
      if (machine === undefined) continue;
      const entry = updates.get(appName) ?? { app, update: { firing: [], resolved: [] } };
      const key = alertKey(alert);
      if (alert.status === 'firing') {
        entry.update.firing.push({ key, name: alertName(alert.labels), machineId: machine.id });
      } else {
        entry.update.resolved.push(key);
      }
      updates.set(appName, entry);
      machines.push({
        app: appName,
        machine_id: machine.id,
        alert: alertName(alert.labels),
        status: alert.status,
      });
    }
    for (const { app, update } of updates.values()) {
      await releases.reportMachineAlerts(app, update);
    }

    for (const alert of payload.alerts) {
      const name = alertName(alert.labels);
      if (alert.status !== 'firing') {
        ignored.push({ alert: name, reason: 'resolved' });
        continue;
      }
      const appName = alert.labels[options.labels.app];
      if (appName === undefined) {
        ignored.push({ alert: name, reason: 'no app label' });
        continue;
      }
      if (!lastReleaseOf.has(appName)) lastReleaseOf.set(appName, lastRelease(appName));
      const { app, latest, report } = await lastReleaseOf.get(appName)!;
      if (app === undefined) {
        ignored.push({ alert: name, reason: `no application named ${appName}` });
        continue;
      }
      if (latest === undefined || latest.createdTime < now() - options.lookbackMs) {
        ignored.push({ alert: name, reason: `${appName} has no release in the lookback` });
        continue;
      }
      const startsAt = Date.parse(alert.startsAt);
      if (report !== undefined && report.createdTime >= startsAt) {
        ignored.push({
          alert: name,
          reason: `deployment ${latest.id} was analysed after it fired`,
        });
        continue;
      }
      const entry = byDeployment.get(latest.id) ?? { deployment: latest, alerts: [] };
      entry.alerts.push({ name, labels: alert.labels, annotations: alert.annotations, startsAt });
      byDeployment.set(latest.id, entry);
    }

    const started: z.infer<typeof Outcome>['started'] = [];
    for (const { deployment, alerts } of byDeployment.values()) {
      const names = alerts.map((alert) => alert.name);
      const summaries = alerts.map((alert) => alert.annotations.summary).filter(Boolean);
      const { workflowId } = await releases.startAnalysis({
        deploymentId: deployment.id,
        trigger: 'alert',
        reason: `${names.join(', ')} fired${summaries.length > 0 ? `: ${summaries.join('; ')}` : ''}`,
        alerts,
        at: now(),
      });
      started.push({
        app: deployment.app_name,
        deployment_id: deployment.id,
        workflow_id: workflowId,
        alerts: names,
      });
    }
    logger.info({ started, ignored, machines }, 'alertmanager webhook');
    return c.json({ started, ignored, machines }, 202);
  };

  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook }).openapi(route, handler);
}
