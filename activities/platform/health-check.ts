import { setTimeout as delay } from 'node:timers/promises';
import { FailureType, RelguardError } from '../../domain/errors';
import type { HealthResult, MachineTarget } from './types';

const defaultPath = '/healthz';
const defaultTimeoutSeconds = 30;

export function healthUrl({ app, machine }: MachineTarget): string {
  const host = machine.host.includes(':') ? `[${machine.host}]` : machine.host;
  return `http://${host}:${machine.port}${app.health_check?.path ?? defaultPath}`;
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'no answer in time';
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    return (cause as NodeJS.ErrnoException).code ?? cause.message;
  }
  return error.message;
}

/** One GET of the health check; answers, never throws (except when `signal` aborts). */
export async function probeHealth(
  target: MachineTarget,
  options: { fetch: typeof fetch; timeoutMs: number; signal?: AbortSignal },
): Promise<HealthResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await options.fetch(healthUrl(target), { signal });
    // Read the body so the connection is released at once.
    await response.arrayBuffer().catch(() => undefined);
    return response.ok
      ? { healthy: true, status: response.status }
      : { healthy: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (error) {
    options.signal?.throwIfAborted();
    return { healthy: false, error: reasonOf(error) };
  }
}

export interface HealthWait {
  fetch: typeof fetch;
  pollMs: number;
  signal?: AbortSignal;
  /**
   * False once the started process is known to be gone, to fail at once instead of waiting out
   * the timeout; undefined when the platform cannot tell (start_cmd may daemonise).
   */
  processAlive?: () => Promise<boolean | undefined>;
  /** The end of the release's log, for the failure message. */
  logTail: () => Promise<string>;
}

/**
 * Polls the health check until it answers 2xx; after `health_check.timeout_seconds` (or when
 * the process died) throws an Unavailable RelguardError with the last answer and the log tail.
 */
export async function waitUntilHealthy(
  target: MachineTarget,
  version: string,
  options: HealthWait,
): Promise<void> {
  const timeoutSeconds = target.app.health_check?.timeout_seconds ?? defaultTimeoutSeconds;
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last: HealthResult;
  let exited = false;
  for (;;) {
    const remaining = deadline - Date.now();
    last = await probeHealth(target, {
      fetch: options.fetch,
      timeoutMs: Math.max(Math.min(remaining, 2000), 100),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (last.healthy) return;
    if ((await options.processAlive?.()) === false) {
      exited = true;
      break;
    }
    if (Date.now() + options.pollMs > deadline) break;
    await delay(options.pollMs, undefined, options.signal ? { signal: options.signal } : {});
  }
  const url = healthUrl(target);
  const logTail = await options.logTail().catch(() => '');
  const why = exited
    ? `its process exited before ${url} answered (last: ${last.error})`
    : `${url} did not answer 2xx within ${timeoutSeconds} s (last: ${last.error})`;
  throw new RelguardError(
    FailureType.Unavailable,
    `version ${version} on machine ${target.machine.id} is not healthy: ${why}` +
      (logTail ? `; the end of its log:\n${logTail}` : '; its log is empty'),
    { machine_id: target.machine.id, version, url, last, exited, log_tail: logTail },
  );
}
