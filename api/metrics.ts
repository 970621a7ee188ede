import type { Hono } from 'hono';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MachineStatus } from '../domain';
import type { ApiEnv, ApiVariables } from './context';

/**
 * relguard's own metrics, computed from MongoDB when Prometheus scrapes /metrics, so that
 * every api process reports the same numbers whichever of them served the release.
 */
export function mountMetrics(app: Hono<ApiEnv>, store: ApiVariables['store']): void {
  const registry = new Registry();
  new Gauge({
    name: 'relguard_releases',
    help: 'Releases by application and status (terminal statuses are outcomes).',
    labelNames: ['app', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const group of await store.deployments.countByAppAndStatus()) {
        this.set({ app: group.app, status: group.status }, group.count);
      }
    },
  });
  new Counter({
    name: 'relguard_alert_deliveries_total',
    help: "Attempts to deliver an alert to a channel, by application, alert kind, channel and outcome (sent, retrying: failed and tried again, failed: given up); from the deployments' alert_deliveries.",
    labelNames: ['app', 'kind', 'channel', 'outcome'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const group of await store.deployments.countAlertDeliveries()) {
        const { count, ...labels } = group;
        this.inc(labels, count);
      }
    },
  });
  const rollbacks = new Gauge({
    name: 'relguard_rollbacks',
    help: 'Rolled-back releases (of the newest 500) by application and by who asked.',
    labelNames: ['app', 'requested_by'],
    registers: [registry],
  });
  const rollbackSeconds = new Histogram({
    name: 'relguard_rollback_duration_seconds',
    help: 'From the rollback request to the release ended rolled back (newest 500).',
    buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const detectionSeconds = new Histogram({
    name: 'relguard_breach_to_rollback_seconds',
    help: 'From the first failing evaluation of the metric guard to its rollback request.',
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers: [registry],
  });

  const machineStatus = new Gauge({
    name: 'relguard_machine_status',
    help: 'Each machine\'s status as relguard last saw it: 1 for the current one, 0 for the other three (alert on relguard_machine_status{status="error"} == 1).',
    labelNames: ['app', 'machine', 'status'],
    registers: [registry],
  });
  const appMachines = new Gauge({
    name: 'relguard_app_machines',
    help: "An application's machines by status (healthy, error, alert, unknown).",
    labelNames: ['app', 'status'],
    registers: [registry],
  });

  app.get('/metrics', async (c) => {
    machineStatus.reset();
    appMachines.reset();
    // Every status of every machine is written, 0 included: a dashboard sees a machine leave
    // `error` as 1 -> 0, not as a series that vanishes.
    for (const application of await store.applications.list()) {
      for (const status of MachineStatus.options) {
        const count = application.machines.filter((machine) => machine.status === status).length;
        appMachines.set({ app: application.name, status }, count);
      }
      for (const machine of application.machines) {
        for (const status of MachineStatus.options) {
          machineStatus.set(
            { app: application.name, machine: machine.id, status },
            machine.status === status ? 1 : 0,
          );
        }
      }
    }
    rollbacks.reset();
    rollbackSeconds.reset();
    detectionSeconds.reset();
    for (const deployment of await store.deployments.recentRollbacks()) {
      const rollback = deployment.rollback;
      rollbacks.inc({
        app: deployment.app_name,
        requested_by: rollback?.requested_by ?? 'unknown',
      });
      if (rollback?.requested_at !== undefined) {
        rollbackSeconds.observe((deployment.updatedTime - rollback.requested_at) / 1000);
      }
      if (rollback?.first_breach_at !== undefined && rollback.requested_at !== undefined) {
        detectionSeconds.observe((rollback.requested_at - rollback.first_breach_at) / 1000);
      }
    }
    return c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });
}
