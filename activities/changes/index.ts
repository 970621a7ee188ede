import type { ReleaseChanges } from '../../domain/code-change';
import { GitHubChangeSource } from './github';
import { LocalGitChangeSource } from './local-git';
import { gitHubHosts, parseGitHubRepo } from './repo-url';
import type { ChangeRequest, ChangeSource } from './types';

export interface ChangeSourceOptions {
  /** GITHUB_TOKEN: without it every repository is read with git. */
  githubToken?: string | undefined;
  /** GITHUB_API_URL: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise. */
  githubApiUrl: string;
  /** Where the git reader clones a repository given by URL. Default the system's temp folder. */
  tempDir?: string;
}

/**
 * The change source for any repository: the GitHub API for a repository on the host that
 * GITHUB_API_URL serves when GITHUB_TOKEN is set, git otherwise (a local repository, another
 * host, or no token). When a GitHub repository is read with git, `note` says why.
 */
export function createChangeSource(options: ChangeSourceOptions): ChangeSource {
  const servedHosts = gitHubHosts(options.githubApiUrl);
  const token = options.githubToken === '' ? undefined : options.githubToken;
  const gitHub =
    token === undefined
      ? undefined
      : new GitHubChangeSource({ token, apiUrl: options.githubApiUrl });
  const git = new LocalGitChangeSource({
    gitHubHosts: [...new Set(['github.com', ...servedHosts])],
    ...(options.tempDir === undefined ? {} : { tempDir: options.tempDir }),
  });

  /** Why a repository that looks like GitHub's is read with git; undefined when it is not. */
  const fallbackReason = (repo: string): string | undefined => {
    const onGitHub = parseGitHubRepo(repo);
    if (onGitHub === undefined) return undefined;
    const served = servedHosts.includes(onGitHub.host);
    if (served && token === undefined) {
      return 'GITHUB_TOKEN is not set: read with git instead of the GitHub API';
    }
    if (!served && onGitHub.host === 'github.com') {
      return `GITHUB_API_URL serves ${servedHosts.join(', ')}, not github.com: read with git instead of the GitHub API`;
    }
    return undefined;
  };

  return {
    async changesBetween(request: ChangeRequest): Promise<ReleaseChanges> {
      if (gitHub?.repoOf(request.repo) !== undefined) return await gitHub.changesBetween(request);
      const changes = await git.changesBetween(request);
      const reason = fallbackReason(request.repo);
      if (reason === undefined || changes.source === 'none') return changes;
      return {
        ...changes,
        note: changes.note === undefined ? reason : `${changes.note}; ${reason}`,
      };
    },
  };
}
