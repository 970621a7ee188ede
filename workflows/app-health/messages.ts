import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { HealthNotice, MachineHealthState } from '../../domain/machine-health';

/** An alert Alertmanager reported for one machine: `key` is its fingerprint. */
export interface WebhookAlert {
  key: string;
  name: string;
  machineId: string;
}

export interface AppHealthInput {
  appId: string;
  /** Carried over continue-as-new. */
  machines?: Record<string, MachineHealthState>;
  webhookAlerts?: WebhookAlert[];
  /** Notices whose alert could not be delivered yet: sent with the next ones. */
  undelivered?: HealthNotice[];
  checks?: number;
  intervalSeconds?: number;
}

/** Alertmanager's webhook: these alerts fire (or were resolved) for these machines. */
export interface MachineAlertsUpdate {
  firing: WebhookAlert[];
  /** Keys of the alerts resolved. */
  resolved: string[];
}

export interface StopWatchingRequest {
  reason: string;
}

/** What the watcher knows now, for people and tests. */
export interface AppHealthView {
  checks: number;
  /** Epoch ms of the last check that saw the machines; undefined before the first. */
  lastCheckAt?: number;
  machines: Record<string, MachineHealthState>;
  webhookAlerts: WebhookAlert[];
  undelivered: number;
}

export const machineAlertsSignal = defineSignal<[MachineAlertsUpdate]>('machineAlerts');
export const stopWatchingSignal = defineSignal<[StopWatchingRequest]>('stopWatching');
export const appHealthQuery = defineQuery<AppHealthView>('appHealth');
