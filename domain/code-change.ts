import { z } from './zod';

/** One file a pull request changed; `patch` is the unified diff, cut to the budget. */
export const ChangedFile = z.object({
  path: z.string(),
  additions: z.number().int().nonnegative(),
  deletions: z.number().int().nonnegative(),
  patch: z.string().optional(),
  /** The patch was cut (or left out) to stay within the budget. */
  truncated: z.boolean().default(false),
});
export type ChangedFile = z.infer<typeof ChangedFile>;

/**
 * A change that went into a release: a merged pull request (GitHub), or a merge commit of a
 * local repository (where `number` is the pull request number its message names, if any).
 */
export const PullRequest = z.object({
  number: z.number().int().positive().optional(),
  title: z.string(),
  body: z.string().default(''),
  author: z.string().default(''),
  url: z.string().optional(),
  /** The merge commit (or the head commit, for a pull request merged by rebase). */
  commit: z.string(),
  merged_at: z.number().int().optional(),
  files: z.array(ChangedFile),
});
export type PullRequest = z.infer<typeof PullRequest>;

/** What changed between two versions of an application, newest pull request first. */
export const ReleaseChanges = z.object({
  source: z.enum(['github', 'git', 'none']),
  /** owner/name on GitHub, or the repository's path or URL. */
  repo: z.string(),
  from: z.string(),
  to: z.string(),
  compare_url: z.string().optional(),
  pull_requests: z.array(PullRequest),
  /** Pull requests, files or patches were left out to stay within the budget. */
  truncated: z.boolean().default(false),
  /** Why no changes could be read (no previous version, repository unreachable...). */
  note: z.string().optional(),
});
export type ReleaseChanges = z.infer<typeof ReleaseChanges>;

/** How much of a release's changes an analysis reads; each limit with its default. */
export interface ChangeBudget {
  /** Pull requests, newest first. Default 30. */
  maxPullRequests?: number;
  /** Files per pull request. Default 30. */
  maxFilesPerPullRequest?: number;
  /** Characters of one file's patch. Default 4,000. */
  maxPatchChars?: number;
  /** Characters of all patches together. Default 60,000. */
  maxTotalPatchChars?: number;
}

export const defaultChangeBudget: Required<ChangeBudget> = {
  maxPullRequests: 30,
  maxFilesPerPullRequest: 30,
  maxPatchChars: 4_000,
  maxTotalPatchChars: 60_000,
};
