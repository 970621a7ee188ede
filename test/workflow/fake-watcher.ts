import type {
  CheckedMachine,
  MachineAlert,
  MachineHealthCheck,
  MachineStatusChange,
} from '../../activities/machine-health';
import type { HealthNotice, MachineObservation } from '../../domain/machine-health';

/**
 * The health watcher's activities over a script, for its workflow tests and recorded history:
 * what each check sees of each machine, and what the watcher wrote and announced. Writes and
 * alerts can be made to fail a number of times.
 */
export type Sight = Partial<Omit<MachineObservation, 'machineId'>> & { deploying?: boolean };
/** What check number `n` (from 0) sees of each machine; undefined: the application is gone. */
export type Script = (
  n: number,
  webhookAlerts: MachineAlert[],
) => Record<string, Sight> | undefined;

export const ok: Sight = {};
export const dead: Sight = {
  check: { state: 'failed', reason: 'connection refused' },
  scrape: { state: 'down' },
};

export function fakeWatcherActivities(
  script: Script,
  options: { failAnnounce?: number; failRecord?: number } = {},
) {
  const stored = new Map<string, CheckedMachine['stored']>();
  const recorded: MachineStatusChange[][] = [];
  const announced: HealthNotice[][] = [];
  let checks = 0;
  let announceFailures = options.failAnnounce ?? 0;
  let recordFailures = options.failRecord ?? 0;
  const activities = {
    checkMachines(request: {
      appId: string;
      webhookAlerts: MachineAlert[];
    }): Promise<MachineHealthCheck> {
      const sights = script(checks++, request.webhookAlerts);
      if (sights === undefined) return Promise.resolve({ gone: true });
      return Promise.resolve({
        gone: false,
        appName: 'orders',
        health: { interval_seconds: 15, failures_before_error: 2 },
        machines: Object.entries(sights).map(([machineId, sight]) => ({
          observation: {
            machineId,
            version: sight.version ?? 'v1.0.0',
            check: sight.check ?? { state: 'ok' },
            scrape: sight.scrape ?? { state: 'up' },
            alerts: sight.alerts ?? [],
          },
          stored: stored.get(machineId) ?? { status: 'healthy', status_since: 0 },
          deploying: sight.deploying ?? false,
        })),
      });
    },
    recordMachineStatuses(request: { appId: string; changes: MachineStatusChange[] }) {
      if (recordFailures > 0) {
        recordFailures -= 1;
        return Promise.reject(new Error('MongoDB is down'));
      }
      recorded.push(request.changes);
      for (const change of request.changes) stored.set(change.machineId, change.record);
      return Promise.resolve({ written: request.changes.map((change) => change.machineId) });
    },
    announceMachineHealth(request: { appId: string; notices: HealthNotice[] }) {
      if (announceFailures > 0) {
        announceFailures -= 1;
        return Promise.reject(new Error('the alert reached 0 of 1 channels'));
      }
      announced.push(request.notices);
      return Promise.resolve({ delivered: ['ops'] });
    },
  };
  return { activities, recorded, announced, stored, checks: () => checks };
}
