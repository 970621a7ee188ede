/**
 * Where a release's alert deliveries stand, from `Deployment.alert_deliveries`. Pure, and
 * imports types alone: the console bundles it, the CLI and the demo use it too.
 */
import type { AlertDelivery, AlertKind } from './alert';
import type { RollbackPolicy } from './application';
import type { DeploymentStatus } from './deployment';

/** One alert to one channel. */
export interface AlertTarget {
  kind: AlertKind;
  channel: string;
}

/**
 * The newest entry of each (kind, channel) pair: where each delivery stands, in the order the
 * pairs first appear (the entries are oldest first).
 */
export function latestDeliveries(
  deliveries: readonly AlertDelivery[] | undefined,
): AlertDelivery[] {
  const latest = new Map<string, AlertDelivery>();
  for (const delivery of deliveries ?? []) {
    latest.set(targetKey(delivery), delivery);
  }
  return [...latest.values()];
}

/**
 * Every delivery relguard gave up on, oldest first: also those of an alert sent again later
 * (a second pause) whose newer delivery went through, which latestDeliveries would hide.
 */
export function givenUpDeliveries(
  deliveries: readonly AlertDelivery[] | undefined,
): AlertDelivery[] {
  return (deliveries ?? []).filter((delivery) => delivery.status === 'failed');
}

export function targetKey(target: AlertTarget): string {
  return `${target.kind}\u0000${target.channel}`;
}

/**
 * The alerts a release that ended with `status` sends to each channel of its policy: a rollback
 * says so, and its analysis report follows when the policy has the AI analysis on; a failure
 * says so. Nothing for a release that succeeded, was cancelled or still runs.
 */
export function expectedAlerts(
  status: DeploymentStatus,
  policy: Pick<RollbackPolicy, 'notify' | 'ai_analysis'>,
): AlertTarget[] {
  const kinds: AlertKind[] =
    status === 'rolled_back'
      ? ['rolled_back', ...(policy.ai_analysis ? (['analysis_ready'] as const) : [])]
      : status === 'failed'
        ? ['release_failed']
        : [];
  return kinds.flatMap((kind) => policy.notify.map((channel) => ({ kind, channel })));
}

/**
 * The deliveries not settled yet: each expected alert whose channel neither took it nor was
 * given up on, and each delivery still retrying. With the newest entry, when there is one.
 */
export function unsettledAlerts(
  deliveries: readonly AlertDelivery[] | undefined,
  expected: readonly AlertTarget[] = [],
): (AlertTarget & { latest?: AlertDelivery })[] {
  const latest = new Map(latestDeliveries(deliveries).map((entry) => [targetKey(entry), entry]));
  const unsettled = new Map<string, AlertTarget & { latest?: AlertDelivery }>();
  for (const target of expected) {
    const entry = latest.get(targetKey(target));
    if (entry === undefined) unsettled.set(targetKey(target), { ...target });
    else if (entry.status === 'retrying')
      unsettled.set(targetKey(target), { ...target, latest: entry });
  }
  for (const entry of latest.values()) {
    if (entry.status === 'retrying') {
      unsettled.set(targetKey(entry), { kind: entry.kind, channel: entry.channel, latest: entry });
    }
  }
  return [...unsettled.values()];
}

/**
 * After a release ends its alerts keep coming for a while (its end's, then its analysis'
 * report's): whoever shows them asks again until they are settled, for this long after the
 * last thing that happened to the release at most.
 */
export const alertWindowMs = 15 * 60_000;

const ended: readonly DeploymentStatus[] = ['succeeded', 'failed', 'rolled_back', 'cancelled'];

/**
 * Whether a view of the release should keep asking for it: while it runs; after it ended,
 * while an alert its policy sends is not settled (sent or given up on) or the policy is not
 * known yet, and never past alertWindowMs after its last change or delivery.
 */
export function awaitingAlerts(
  deployment: {
    status: DeploymentStatus;
    updatedTime: number;
    alert_deliveries?: readonly AlertDelivery[] | undefined;
  },
  policy: Pick<RollbackPolicy, 'notify' | 'ai_analysis'> | undefined,
  now: number,
): boolean {
  if (!ended.includes(deployment.status)) return true;
  const deliveries = deployment.alert_deliveries ?? [];
  const last = Math.max(deployment.updatedTime, ...deliveries.map((delivery) => delivery.at));
  if (now - last > alertWindowMs) return false;
  if (policy === undefined) return true;
  return unsettledAlerts(deliveries, expectedAlerts(deployment.status, policy)).length > 0;
}
