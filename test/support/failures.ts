import { expect } from 'vitest';
import { RelguardError } from '../../domain';

/** The RelguardError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function relguardFailureOf(promise: Promise<unknown>): Promise<RelguardError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RelguardError);
  return error as RelguardError;
}
