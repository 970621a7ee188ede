/**
 * Failure types: one enum, used as ApplicationFailure types by activities and workflows and
 * as error codes by the api.
 */
export enum FailureType {
  BadConfig = 'BadConfig',
  BadPackage = 'BadPackage',
  NotFound = 'NotFound',
  Conflict = 'Conflict',
  Unavailable = 'Unavailable',
}

/** Failures no retry can fix: a bad package stays bad, a missing application stays missing. */
export const nonRetryableFailureTypes: readonly FailureType[] = [
  FailureType.BadConfig,
  FailureType.BadPackage,
  FailureType.NotFound,
  FailureType.Conflict,
];

/** A failure of relguard's own making, with a message a person can act on. */
export class RelguardError extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = `${type}Error`;
  }
}

export const notFound = (what: string, id: string): RelguardError =>
  new RelguardError(FailureType.NotFound, `${what} ${id} not found`, { id });

export const conflict = (message: string, details?: unknown): RelguardError =>
  new RelguardError(FailureType.Conflict, message, details);

/** What went wrong, in words, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The message of a Temporal failure seen by a workflow: an activity's ActivityFailure wraps
 * the ApplicationFailure that says what happened, so its cause is read when there is one.
 */
export function failureMessage(error: unknown): string {
  return errorMessage(error instanceof Error && error.cause instanceof Error ? error.cause : error);
}
