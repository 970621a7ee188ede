import type { MachineStatus } from './application';

/**
 * An application's health from its machine counts, as the CLI and the console show it. Pure and
 * free of Node and zod at run time, so the console's bundle imports it too.
 */
export interface MachineCounts {
  machine_count: number;
  health_count: number;
  error_count: number;
  alert_count: number;
}

/** Machines relguard cannot tell about: the api counts the other three statuses. */
export function unknownCount(app: MachineCounts): number {
  return Math.max(0, app.machine_count - app.health_count - app.error_count - app.alert_count);
}

/** The worst status among the machines (error, alert, unknown, healthy); none without machines. */
export function worstStatus(app: MachineCounts): MachineStatus | undefined {
  if (app.error_count > 0) return 'error';
  if (app.alert_count > 0) return 'alert';
  if (unknownCount(app) > 0) return 'unknown';
  return app.machine_count > 0 ? 'healthy' : undefined;
}

const rank: Record<MachineStatus, number> = { error: 0, alert: 1, unknown: 2, healthy: 3 };

/**
 * The order people look for trouble in: an application with a machine in error first, then
 * one alerting, then one with a machine relguard cannot tell about, then the rest; by name
 * inside each.
 */
export function byHealth<A extends MachineCounts & { name: string }>(a: A, b: A): number {
  const of = (app: A) => rank[worstStatus(app) ?? 'healthy'];
  return of(a) - of(b) || a.name.localeCompare(b.name);
}
