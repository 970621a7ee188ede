import type { z } from 'zod';

/** An error the HTTP layer turns into `{ error: { code, message, details } }` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface IssueDetail {
  parameter: string;
  message: string;
}

/** Dotted parameter names ("params.rate") so a message points at what to fix. */
export function issueDetails(error: z.ZodError, prefix: string): IssueDetail[] {
  return error.issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        parameter: base === '' ? key : `${base}.${key}`,
        message: 'unknown parameter',
      }));
    }
    return [{ parameter: base === '' ? '(root)' : base, message: issue.message }];
  });
}

/** A 400 whose message names the first bad parameter and whose details list all of them. */
export function invalidParameters(error: z.ZodError, prefix: string): ApiError {
  const details = issueDetails(error, prefix);
  const first = details[0];
  const message =
    first === undefined ? 'invalid parameters' : `invalid ${first.parameter}: ${first.message}`;
  return new ApiError(400, 'invalid_parameter', message, details);
}
