import type { ReleaseChanges } from '../../domain/code-change';
import { FailureType, RelguardError } from '../../domain/errors';
import { redactCredentials } from './repo-url';
import type { ChangeRequest } from './types';

/**
 * What every source answers for a first release: there is no earlier version to compare
 * with, which is a fact about the release, not a failure.
 */
export function firstReleaseChanges(request: ChangeRequest, repo: string): ReleaseChanges {
  return {
    source: 'none',
    repo,
    from: '',
    to: request.to,
    pull_requests: [],
    truncated: false,
    note: `first release: ${request.to} has no previous version to compare with`,
  };
}

/** A request no source can answer, refused the same way by all. */
export function checkChangeRequest(request: ChangeRequest): void {
  if (request.to === '') {
    throw new RelguardError(
      FailureType.BadConfig,
      `no version to read the changes of: the new tag is empty (repository ${redactCredentials(request.repo)})`,
      { repo: redactCredentials(request.repo) },
    );
  }
}
