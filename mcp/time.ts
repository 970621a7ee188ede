import { durationSeconds } from '../domain/duration';

/**
 * The times and durations the tools accept. An LLM rarely knows the current time, so besides
 * RFC 3339 and unix seconds (what Prometheus takes) a time may be `now` or `now-<duration>`.
 */

const SECONDS = /^\d+(?:\.\d+)?$/;
// RFC 3339 needs an offset: without one, Date.parse would read the server's local time.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const RELATIVE = /^now\s*(?:([+-])\s*(.+))?$/;

/** A bad time or duration; its message names the text and what would be accepted. */
export class TimeInputError extends Error {
  override readonly name = 'TimeInputError';
}

/** Seconds in a Prometheus duration (`30s`, `1h30m`, `500ms`) or a plain number of seconds. */
export function parseDuration(text: string): number {
  const seconds = durationSeconds(text.trim());
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) {
    throw new TimeInputError(
      `invalid duration "${text}": use a Prometheus duration like 30s, 5m or 1h30m, ` +
        'or a number of seconds',
    );
  }
  return seconds;
}

/** Epoch ms of `now`, `now-<duration>`, an RFC 3339 time with an offset, or unix seconds. */
export function parseTime(text: string, nowMs: number): number {
  const trimmed = text.trim();
  const relative = RELATIVE.exec(trimmed.toLowerCase());
  if (relative !== null) {
    const [, sign, duration] = relative;
    if (sign === undefined || duration === undefined) return nowMs;
    let offsetMs: number | undefined;
    try {
      offsetMs = parseDuration(duration) * 1000;
    } catch {
      // Named below with the whole text, which is what the caller wrote.
    }
    if (offsetMs !== undefined) {
      return Math.round(sign === '-' ? nowMs - offsetMs : nowMs + offsetMs);
    }
  } else if (SECONDS.test(trimmed)) {
    return Math.round(Number(trimmed) * 1000);
  } else if (RFC3339.test(trimmed)) {
    const parsed = Date.parse(trimmed);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw new TimeInputError(
    `invalid time "${text}": use now, now-<duration> (e.g. now-1h), an RFC 3339 time with ` +
      'an offset (2024-05-01T12:00:00Z) or unix seconds',
  );
}
