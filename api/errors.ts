import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError, type core } from 'zod';
import { FailureType, RelguardError } from '../domain';
import { isStoreUnavailable } from '../activities/db/store-outage';
import type { Logger } from '../activities/logger';

/** Every error the api answers has this shape, whatever its status. */
export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string(),
      details: z.unknown().optional().openapi({
        description:
          'More about the error, by code: for `validation_failed`, the failing fields as `[{ field, message }]`',
      }),
    }),
  })
  .openapi('Error');
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

export function errorBody(code: string, message: string, details?: unknown): ErrorEnvelope {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** Names each failing field by its path, e.g. `machines.0.port`; an unknown field by its own. */
export function fieldProblems(error: ZodError | core.$ZodError): FieldProblem[] {
  const field = (path: PropertyKey[]) => path.map(String).join('.') || '(body)';
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: field([...issue.path, key]), message: 'unknown field' }))
      : [{ field: field(issue.path), message: issue.message }],
  );
}

export function validationBody(error: ZodError | core.$ZodError, where: string): ErrorEnvelope {
  const problems = fieldProblems(error);
  const summary = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  return errorBody('validation_failed', `invalid ${where}: ${summary}`, problems);
}

/**
 * The defaultHook of every route: a body that parses but does not fit the schema is 422,
 * bad path or query parameters are 400. Either way the message names the fields.
 */
export function validationHook(
  result: { success: true } | { success: false; error: ZodError | core.$ZodError; target: string },
  c: Context,
) {
  if (result.success) return undefined;
  const status = result.target === 'json' ? 422 : 400;
  const where = result.target === 'json' ? 'request body' : `${result.target} parameters`;
  return c.json(validationBody(result.error, where), status);
}

const statusOfFailure: Record<FailureType, ContentfulStatusCode> = {
  [FailureType.BadConfig]: 422,
  [FailureType.BadPackage]: 422,
  [FailureType.NotFound]: 404,
  [FailureType.Conflict]: 409,
  [FailureType.Unavailable]: 503,
};

const codeOfFailure: Record<FailureType, string> = {
  [FailureType.BadConfig]: 'bad_config',
  [FailureType.BadPackage]: 'bad_package',
  [FailureType.NotFound]: 'not_found',
  [FailureType.Conflict]: 'conflict',
  [FailureType.Unavailable]: 'unavailable',
};

/**
 * The app's onError: domain errors get their status, MongoDB out of reach is a 503, anything
 * else is a 500 without a stack.
 */
export function errorHandler(logger: Logger) {
  return (error: Error, c: Context) => {
    if (error instanceof RelguardError) {
      return c.json(
        errorBody(codeOfFailure[error.type], error.message, error.details),
        statusOfFailure[error.type],
      );
    }
    if (error instanceof ZodError) {
      return c.json(validationBody(error, 'request'), 422);
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      // @hono/zod-openapi's check of a JSON body's Content-Type, before the body is read.
      if (status === 415) {
        const sent = c.req.header('content-type');
        return c.json(
          errorBody(
            'unsupported_media_type',
            `Content-Type ${sent === undefined || sent === '' ? '(none, with a body)' : sent} is not accepted here: send application/json`,
            { accepted: ['application/json'] },
          ),
          415,
        );
      }
      return c.json(
        errorBody(status === 400 ? 'bad_request' : 'http_error', error.message),
        status,
      );
    }
    // A retry later may succeed (MongoDB restarting, FerretDB's SQLite busy): a 503, not a 500.
    if (isStoreUnavailable(error)) {
      logger.warn({ err: error, method: c.req.method, path: c.req.path }, 'database unavailable');
      return c.json(
        errorBody('unavailable', 'the database (MongoDB) is unavailable; try again shortly'),
        503,
      );
    }
    logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
    return c.json(errorBody('internal', 'internal error; the api log has the details'), 500);
  };
}
