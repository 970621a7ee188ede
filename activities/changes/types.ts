import type { ChangeBudget, ReleaseChanges } from '../../domain/code-change';

export interface ChangeRequest {
  /** A GitHub URL (https or ssh, with or without .git), any git URL, or a local path. */
  repo: string;
  /** The previous version's tag; '' for a first release. */
  from: string;
  /** The new version's tag. */
  to: string;
  /** How much to read; defaultChangeBudget for what is left unset. */
  budget?: ChangeBudget;
}

/** Where the pull requests of a release come from: the GitHub API or a git repository. */
export interface ChangeSource {
  /** The pull requests merged after `from` up to `to`, newest first; read-only, safe to retry. */
  changesBetween(request: ChangeRequest): Promise<ReleaseChanges>;
}
