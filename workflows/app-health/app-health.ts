import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { CheckedMachine, MachineStatusChange } from '../../activities/machine-health';
import {
  initialMachineState,
  judgeMachine,
  statusRecord,
  type HealthNotice,
  type MachineHealthState,
} from '../../domain/machine-health';
import {
  appHealthQuery,
  machineAlertsSignal,
  stopWatchingSignal,
  type AppHealthInput,
  type WebhookAlert,
} from './messages';
import { summaries } from '../summaries';

const { checkMachines } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  // It heartbeats per machine: a worker killed mid-check is noticed in seconds.
  heartbeatTimeout: '20 seconds',
  // A check that cannot run is retried by the next interval's check.
  retry: { maximumAttempts: 2, initialInterval: '1 second' },
});
const { recordMachineStatuses, announceMachineHealth } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  // A write or an alert that fails for good is tried again after the next check.
  retry: { maximumAttempts: 5, initialInterval: '1 second', maximumInterval: '10 seconds' },
});

/** Checks per run before continue-as-new: about 10 events each, well under the history limit. */
const checksPerRun = 500;
/** Notices kept for a later delivery when the channels fail: the newest. */
const undeliveredKept = 50;

/**
 * Watches one application's machines for as long as it exists: every
 * `health.interval_seconds` it checks each one (platform health check, Prometheus `up`, the
 * alerts firing for it), decides its status (domain/machine-health.ts), writes what changed
 * and tells people. Alertmanager's webhook signals its alerts in, which triggers a check at
 * once. Ends when signalled to stop (the application is deleted) or when the application is
 * gone. Id `health-<app id>`, one per application.
 */
export async function appHealthWorkflow(input: AppHealthInput): Promise<string> {
  const machines = new Map<string, MachineHealthState>(Object.entries(input.machines ?? {}));
  const webhookAlerts = new Map<string, WebhookAlert>(
    (input.webhookAlerts ?? []).map((alert) => [alert.key, alert]),
  );
  let undelivered: HealthNotice[] = input.undelivered ?? [];
  let checks = input.checks ?? 0;
  let lastCheckAt: number | undefined;
  /** The application's interval as last read; the default until the first check reads it. */
  let intervalSeconds = input.intervalSeconds ?? 15;
  let stopReason: string | undefined;
  let alertsChanged = false;

  setHandler(machineAlertsSignal, (update) => {
    for (const key of update.resolved) webhookAlerts.delete(key);
    for (const alert of update.firing) webhookAlerts.set(alert.key, alert);
    alertsChanged = true;
  });
  setHandler(stopWatchingSignal, (request) => {
    stopReason = request.reason;
  });
  setHandler(appHealthQuery, () => ({
    checks,
    ...(lastCheckAt === undefined ? {} : { lastCheckAt }),
    machines: Object.fromEntries(machines),
    webhookAlerts: [...webhookAlerts.values()],
    undelivered: undelivered.length,
  }));

  for (let run = 0; stopReason === undefined; run++) {
    alertsChanged = false;
    const interval = await checkOnce();
    if (interval === 'gone') return 'the application was deleted';
    if (run + 1 >= checksPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof appHealthWorkflow>({
        appId: input.appId,
        machines: Object.fromEntries(machines),
        webhookAlerts: [...webhookAlerts.values()],
        undelivered,
        checks,
        intervalSeconds,
      });
    }
    setCurrentDetails(
      healthDetails(checks, lastCheckAt, machines, webhookAlerts.size, undelivered),
    );
    await condition(() => stopReason !== undefined || alertsChanged, interval * 1000, {
      summary: summaries.nextCheck(interval),
    });
  }
  return `stopped: ${stopReason}`;

  /** One check of every machine; answers the interval to wait, or 'gone'. */
  async function checkOnce(): Promise<number | 'gone'> {
    let seen;
    try {
      seen = await checkMachines.executeWithOptions(
        { summary: summaries.checkMachines(input.appId) },
        [
          {
            appId: input.appId,
            webhookAlerts: [...webhookAlerts.values()].map(({ name, machineId }) => ({
              name,
              machineId,
            })),
          },
        ],
      );
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      log.warn('health check could not run', { appId: input.appId, error: error.message });
      return intervalSeconds;
    }
    if (seen.gone) return 'gone';
    intervalSeconds = seen.health.interval_seconds;
    checks += 1;
    const now = Date.now();
    lastCheckAt = now;

    const changes: MachineStatusChange[] = [];
    const notices: HealthNotice[] = [];
    const present = new Set<string>();
    for (const { observation, stored, deploying } of seen.machines) {
      present.add(observation.machineId);
      const known = machines.get(observation.machineId);
      if (deploying) {
        // The release writes its status; the watcher takes it up again from what it wrote.
        machines.set(observation.machineId, takeUp(stored, known, now));
        continue;
      }
      // A release wrote a newer status since the last check (a deploy between two checks):
      // that is where the machine is now.
      const previous =
        known !== undefined &&
        stored.status !== known.status &&
        stored.status_since !== undefined &&
        stored.status_since > known.since
          ? takeUp(stored, known, now)
          : known;
      const judged = judgeMachine(
        previous ?? initialMachineState(stored, now),
        observation,
        seen.health,
        now,
      );
      machines.set(observation.machineId, judged.state);
      if (judged.notice !== undefined) notices.push(judged.notice);
      if (judged.state.status !== stored.status || judged.state.since !== stored.status_since) {
        changes.push({
          machineId: observation.machineId,
          version: observation.version,
          record: statusRecord(judged.state),
        });
      }
    }
    for (const machineId of [...machines.keys()]) {
      if (!present.has(machineId)) machines.delete(machineId);
    }

    if (changes.length > 0) {
      try {
        await recordMachineStatuses.executeWithOptions(
          { summary: summaries.recordMachineStatuses(changes.length) },
          [{ appId: input.appId, changes }],
        );
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        // The stored statuses still differ from the watcher's: the next check writes them.
        log.warn('machine statuses not written', { appId: input.appId, error: error.message });
      }
    }
    const toSend = [...undelivered, ...notices];
    if (toSend.length > 0) {
      try {
        await announceMachineHealth.executeWithOptions(
          { summary: summaries.announceMachineHealth(toSend.length) },
          [{ appId: input.appId, notices: toSend }],
        );
        undelivered = [];
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        undelivered = toSend.slice(-undeliveredKept);
        log.error('machine health alert not delivered; retried after the next check', {
          appId: input.appId,
          notices: toSend.length,
          error: error.message,
        });
      }
    }
    return intervalSeconds;
  }
}

/**
 * The watcher's state of a machine from the status someone else (a release) stored, keeping
 * what the watcher announced and its flap record, so that a recovery is still said once.
 */
function takeUp(
  stored: CheckedMachine['stored'],
  known: MachineHealthState | undefined,
  now: number,
): MachineHealthState {
  const state = initialMachineState(stored, now);
  if (known === undefined) return state;
  return {
    ...state,
    judged: known.judged,
    downs: known.downs,
    quiet: known.quiet,
    ...(known.announced === undefined ? {} : { announced: known.announced }),
  };
}

/** The watcher's current details for the Temporal UI: each machine's status, in markdown. */
function healthDetails(
  checks: number,
  lastCheckAt: number | undefined,
  machines: Map<string, MachineHealthState>,
  firing: number,
  undelivered: HealthNotice[],
): string {
  const when = lastCheckAt === undefined ? 'none yet' : new Date(lastCheckAt).toISOString();
  const lines = [`**${checks} check(s)**, the latest at ${when}`];
  for (const [machineId, state] of machines) lines.push(`- ${machineId}: ${state.status}`);
  if (firing > 0) lines.push(`- alerts firing for its machines: ${firing}`);
  if (undelivered.length > 0) {
    lines.push(`- notices not delivered yet (retried after the next check): ${undelivered.length}`);
  }
  return lines.join('\n');
}
