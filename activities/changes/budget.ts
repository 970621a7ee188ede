import {
  defaultChangeBudget,
  type ChangeBudget,
  type ChangedFile,
  type PullRequest,
} from '../../domain/code-change';

/**
 * The one place that decides how much of a release's changes an analysis reads: every change
 * source fetches what the limits could need and hands it here, so both sources cut alike.
 */

/** The budget with every limit set: defaults for the missing ones, whole and not negative. */
export function resolveBudget(budget: ChangeBudget = {}): Required<ChangeBudget> {
  const limit = (value: number | undefined, fallback: number): number =>
    value === undefined || Number.isNaN(value) ? fallback : Math.max(0, Math.floor(value));
  return {
    maxPullRequests: limit(budget.maxPullRequests, defaultChangeBudget.maxPullRequests),
    maxFilesPerPullRequest: limit(
      budget.maxFilesPerPullRequest,
      defaultChangeBudget.maxFilesPerPullRequest,
    ),
    maxPatchChars: limit(budget.maxPatchChars, defaultChangeBudget.maxPatchChars),
    maxTotalPatchChars: limit(budget.maxTotalPatchChars, defaultChangeBudget.maxTotalPatchChars),
  };
}

/**
 * A patch of at most `maxChars` characters. It ends at a line break when one falls in the
 * second half of the allowance, so that a reader sees whole diff lines; one long line (a
 * minified file) is cut where the allowance ends instead of losing most of it.
 */
export function cutPatch(patch: string, maxChars: number): string {
  if (patch.length <= maxChars) return patch;
  if (maxChars <= 0) return '';
  const lastBreak = patch.lastIndexOf('\n', maxChars - 1);
  let end = lastBreak + 1 >= maxChars / 2 ? lastBreak + 1 : maxChars;
  // Never split a surrogate pair: half a character is not text.
  const lastKept = patch.charCodeAt(end - 1);
  if (end === maxChars && lastKept >= 0xd800 && lastKept <= 0xdbff) end -= 1;
  return patch.slice(0, end);
}

export interface BudgetedChanges {
  pull_requests: PullRequest[];
  /** Something was left out or cut. */
  truncated: boolean;
}

/**
 * Keeps the first pull requests (callers pass them newest first), the first files of each
 * and as much of each patch as the per-patch and total limits allow, in that order: the
 * newest pull requests get their patches first. A patch the total leaves no room for is
 * left out; its file stays, with its counts, marked `truncated`.
 */
export function applyBudget(pullRequests: PullRequest[], budget?: ChangeBudget): BudgetedChanges {
  const limits = resolveBudget(budget);
  let truncated = pullRequests.length > limits.maxPullRequests;
  let remainingChars = limits.maxTotalPatchChars;

  const keepFile = (file: ChangedFile): ChangedFile => {
    if (file.truncated) truncated = true;
    if (file.patch === undefined) return file;
    const allowed = Math.min(limits.maxPatchChars, remainingChars);
    if (file.patch.length <= allowed) {
      remainingChars -= file.patch.length;
      return file;
    }
    truncated = true;
    const patch = cutPatch(file.patch, allowed);
    remainingChars -= patch.length;
    if (patch === '') {
      const { patch: _leftOut, ...withoutPatch } = file;
      return { ...withoutPatch, truncated: true };
    }
    return { ...file, patch, truncated: true };
  };

  const kept = pullRequests.slice(0, limits.maxPullRequests).map((pullRequest) => {
    if (pullRequest.files.length > limits.maxFilesPerPullRequest) truncated = true;
    return {
      ...pullRequest,
      files: pullRequest.files.slice(0, limits.maxFilesPerPullRequest).map(keepFile),
    };
  });
  return { pull_requests: kept, truncated };
}
