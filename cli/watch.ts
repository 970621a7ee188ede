import { unsettledAlerts, type AlertTarget } from '../domain/alert-deliveries';
import { alertsAtEnd, channelLookup } from './alerts';
import type { Deployment } from '../client';
import { body } from './api-client';
import type { CommandContext } from './context';
import { ApiError, ExitCode } from './errors';
import { releaseFacts, releaseFrame } from './format';

const exitCodeOfStatus: Partial<Record<Deployment['status'], ExitCode>> = {
  succeeded: ExitCode.ok,
  rolled_back: ExitCode.rolledBack,
  failed: ExitCode.failed,
  cancelled: ExitCode.cancelled,
};

/** The exit code of a release that has ended, or undefined while it runs. */
export function exitCodeOfRelease(status: Deployment['status']): ExitCode | undefined {
  return exitCodeOfStatus[status];
}

/** Enough to ride out an api restart; a release outlives its api, so a watch may too. */
const maxConsecutiveFailures = 10;

/**
 * How long a watch stays after the release ended for its last alerts (the rollback's, the
 * failure's) to be delivered or given up on: five attempts with their backoff fit in it.
 */
export const alertSettleMs = 120_000;

export interface WatchOptions {
  intervalMs: number;
  /** Redraw in place (a terminal) or print a line per change (a log, a pipe). */
  live: boolean;
  out: { write(text: string): unknown; columns?: number };
}

/**
 * Follows a deployment until it ends, and then until the alerts of its end are delivered or
 * given up on (at most alertSettleMs): a failed delivery is printed as it happens. Returns the
 * deployment as it was last seen.
 */
export async function watchRelease(
  context: CommandContext,
  deploymentId: string,
  options: WatchOptions,
): Promise<Deployment> {
  const { out } = options;
  const printed = new Map<string, string>();
  let drawnLines = 0;
  let failures = 0;
  const channelsOf = channelLookup(context);
  let endAlerts: AlertTarget[] | undefined;
  let settleUntil: number | undefined;
  const waitingFor = new Set<string>();
  for (;;) {
    let view: Deployment;
    try {
      view = body(
        await context.client.GET('/api/v1/deployments/{id}', {
          params: { path: { id: deploymentId } },
        }),
      );
      failures = 0;
    } catch (error) {
      if (!isTransient(error) || ++failures >= maxConsecutiveFailures) throw error;
      if (failures === 1) context.io.stderr.write(`relguard: ${error.message}; retrying\n`);
      await context.sleep(options.intervalMs);
      continue;
    }
    const channels = await channelsOf(view);
    if (options.live) {
      const frame = clip(releaseFrame(view, context.now(), channels), out.columns);
      // Up to the first line drawn last time, clear below, draw again: no scrolling log.
      const rewind = drawnLines > 0 ? `\x1b[${drawnLines}A\r\x1b[J` : '';
      out.write(`${rewind}${frame.join('\n')}\n`);
      drawnLines = frame.length;
    } else {
      for (const [key, text] of releaseFacts(view, channels)) {
        if (printed.get(key) === text) continue;
        printed.set(key, text);
        out.write(`${clock(context.now())} ${text}\n`);
      }
    }
    if (exitCodeOfRelease(view.status) !== undefined) {
      endAlerts ??= await alertsAtEnd(context, view);
      settleUntil ??= context.now() + alertSettleMs;
      const unsettled = unsettledAlerts(view.alert_deliveries, endAlerts);
      if (unsettled.length === 0) return view;
      const targets = unsettled.map((target) => `${target.kind} → ${target.channel}`).join(', ');
      if (context.now() >= settleUntil) {
        out.write(
          `alerts still not delivered nor given up on after ${alertSettleMs / 1000}s: ${targets}; relguard release status ${deploymentId} shows where they stand\n`,
        );
        return view;
      }
      const fresh = unsettled.filter((target) => target.latest === undefined);
      if (
        !options.live &&
        fresh.some((target) => !waitingFor.has(`${target.kind} ${target.channel}`))
      ) {
        for (const target of fresh) waitingFor.add(`${target.kind} ${target.channel}`);
        out.write(`${clock(context.now())} waiting for the delivery of the alerts: ${targets}\n`);
      }
    }
    await context.sleep(options.intervalMs);
  }
}

function isTransient(error: unknown): error is ApiError {
  return error instanceof ApiError && [0, 502, 503, 504].includes(error.status);
}

/** A wrapped line would make the redraw rewind too few lines. */
function clip(lines: string[], columns: number | undefined): string[] {
  if (columns === undefined || columns < 20) return lines;
  return lines.map((line) => (line.length < columns ? line : `${line.slice(0, columns - 2)}…`));
}

function clock(epochMs: number): string {
  const time = new Date(epochMs);
  return [time.getHours(), time.getMinutes(), time.getSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
}
