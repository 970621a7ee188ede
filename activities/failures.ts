import { ApplicationFailure } from '@temporalio/common';
import { nonRetryableFailureTypes, RelguardError } from '../domain/errors';

/**
 * Runs an activity body and turns a RelguardError into an ApplicationFailure of the same
 * type, non-retryable where retrying cannot help, so that the workflow sees what went wrong.
 */
export async function asActivity<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof RelguardError) {
      throw ApplicationFailure.create({
        type: error.type,
        message: error.message,
        nonRetryable: nonRetryableFailureTypes.includes(error.type),
        details: error.details === undefined ? [] : [error.details],
        cause: error,
      });
    }
    throw error;
  }
}
