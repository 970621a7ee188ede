import { segment } from './api-client';
import type { CommandContext } from './context';
import { ApiError, ExitCode } from './errors';
import { releaseFacts, releaseFrame } from './format';
import type { DeploymentView } from './types';

const exitCodeOfStatus: Partial<Record<DeploymentView['status'], ExitCode>> = {
  succeeded: ExitCode.ok,
  rolled_back: ExitCode.rolledBack,
  failed: ExitCode.failed,
  cancelled: ExitCode.cancelled,
};

/** The exit code of a release that has ended, or undefined while it runs. */
export function exitCodeOfRelease(status: DeploymentView['status']): ExitCode | undefined {
  return exitCodeOfStatus[status];
}

/** Enough to ride out an api restart; a release outlives its api, so a watch may too. */
const maxConsecutiveFailures = 10;

export interface WatchOptions {
  intervalMs: number;
  /** Redraw in place (a terminal) or print a line per change (a log, a pipe). */
  live: boolean;
  out: { write(text: string): unknown; columns?: number };
}

/** Follows a deployment until it ends; returns it as it ended. */
export async function watchRelease(
  context: CommandContext,
  deploymentId: string,
  options: WatchOptions,
): Promise<DeploymentView> {
  const { out } = options;
  const printed = new Map<string, string>();
  let drawnLines = 0;
  let failures = 0;
  for (;;) {
    let view: DeploymentView;
    try {
      view = await context.client.get<DeploymentView>(
        `/api/v1/deployments/${segment(deploymentId)}`,
      );
      failures = 0;
    } catch (error) {
      if (!isTransient(error) || ++failures >= maxConsecutiveFailures) throw error;
      if (failures === 1) context.io.stderr.write(`relguard: ${error.message}; retrying\n`);
      await context.sleep(options.intervalMs);
      continue;
    }
    if (options.live) {
      const frame = clip(releaseFrame(view, context.now()), out.columns);
      // Up to the first line drawn last time, clear below, draw again: no scrolling log.
      const rewind = drawnLines > 0 ? `\x1b[${drawnLines}A\r\x1b[J` : '';
      out.write(`${rewind}${frame.join('\n')}\n`);
      drawnLines = frame.length;
    } else {
      for (const [key, text] of releaseFacts(view)) {
        if (printed.get(key) === text) continue;
        printed.set(key, text);
        out.write(`${clock(context.now())} ${text}\n`);
      }
    }
    if (exitCodeOfRelease(view.status) !== undefined) return view;
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
