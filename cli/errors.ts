/**
 * Exit codes a pipeline relies on: documented in README.md ("CLI"), so they never change
 * meaning. A release's own outcome gets a code of its own so that `release start --wait`
 * can gate a deploy job without parsing output.
 */
export const ExitCode = {
  ok: 0,
  usage: 1,
  api: 2,
  rolledBack: 3,
  failed: 4,
  cancelled: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Bad arguments, a bad setting or an unreadable input file: the user can fix the command. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The help to point at, e.g. `release start`; the top help when empty. */
    readonly helpFor = '',
  ) {
    super(message);
  }
}

/** The api refused or could not be reached (status 0), or did not give what was asked for. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    /** The HTTP status; 0 when the api could not be reached at all. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
