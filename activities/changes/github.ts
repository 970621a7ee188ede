import { Octokit, type RestEndpointMethodTypes } from '@octokit/rest';
import type { ChangedFile, PullRequest, ReleaseChanges } from '../../domain/code-change';
import { errorMessage, FailureType, RelguardError } from '../../domain/errors';
import { applyBudget, resolveBudget } from './budget';
import { checkChangeRequest, firstReleaseChanges } from './first-release';
import { gitHubHosts, gitHubRepoOn, redactCredentials, type GitHubRepo } from './repo-url';
import type { ChangeRequest, ChangeSource } from './types';
import { mapConcurrently } from '../concurrency';

type CompareData =
  RestEndpointMethodTypes['repos']['compareCommitsWithBasehead']['response']['data'];
type CompareCommit = CompareData['commits'][number];
type AssociatedPull =
  RestEndpointMethodTypes['repos']['listPullRequestsAssociatedWithCommit']['response']['data'][number];
type MergedPull = AssociatedPull & { merged_at: string; merge_commit_sha: string };
type PullFile = RestEndpointMethodTypes['pulls']['listFiles']['response']['data'][number];

export const defaultGitHubApiUrl = 'https://api.github.com';

export interface GitHubChangeSourceOptions {
  /** Sent as the Authorization header only; never in a message, note or log. */
  token: string;
  /** https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
  apiUrl?: string;
  /** How long one API call may take. Default 30 s. */
  requestTimeoutMs?: number;
}

/** GitHub's largest page; the compare API pages its commits oldest first. */
const PAGE_SIZE = 100;
/**
 * First-parent commits looked up at most: one API call each, so a range of thousands of
 * direct pushes cannot spend the rate limit. Far more than a release's pull requests.
 */
const MAX_LINE_COMMITS = 250;
/** API calls in flight at once: quick, and gentle with GitHub's secondary rate limits. */
const CONCURRENCY = 4;

/**
 * The pull requests of a release from the GitHub REST API: the compare of the two tags, the
 * merged pull requests of the commits on its first-parent line (the merge, squash or rebased
 * commits on the default branch, one lookup each instead of one per branch commit), and
 * each pull request's files with their patches.
 */
export class GitHubChangeSource implements ChangeSource {
  /** The web hosts whose repositories this API serves. */
  readonly hosts: readonly string[];
  private readonly apiUrl: string;
  private readonly token: string;
  private readonly octokit: Octokit;

  constructor(options: GitHubChangeSourceOptions) {
    this.apiUrl = (options.apiUrl ?? defaultGitHubApiUrl).replace(/\/+$/, '');
    this.hosts = gitHubHosts(this.apiUrl);
    this.token = options.token;
    const timeoutMs = options.requestTimeoutMs ?? 30_000;
    // Octokit has no timeout of its own: a GitHub that stops answering must not hang the
    // analysis until the activity's own timeout.
    const fetchWithTimeout: typeof fetch = (input, init) =>
      fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
    this.octokit = new Octokit({
      auth: options.token,
      baseUrl: this.apiUrl,
      userAgent: 'relguard',
      request: { fetch: fetchWithTimeout },
      // Failures come back as errors of ours; Octokit's request log would print each one
      // again on stderr, and its debug line carries the Authorization header.
      log: {
        debug: ignore,
        info: ignore,
        warn: (message: string) => console.warn(message),
        error: ignore,
      },
    });
  }

  /** The repository when `repo` is a URL of a host this API serves. */
  repoOf(repo: string): GitHubRepo | undefined {
    return gitHubRepoOn(repo, this.hosts);
  }

  async changesBetween(request: ChangeRequest): Promise<ReleaseChanges> {
    checkChangeRequest(request);
    const target = this.repoOf(request.repo);
    if (target === undefined) {
      throw new RelguardError(
        FailureType.BadConfig,
        `${redactCredentials(request.repo)} is not a repository on ${this.hosts.join(' or ')}, which ${this.apiUrl} serves`,
        { repo: redactCredentials(request.repo), apiUrl: this.apiUrl },
      );
    }
    const fullName = `${target.owner}/${target.name}`;
    if (request.from === '') return firstReleaseChanges(request, fullName);
    try {
      return await this.readChanges(target, request);
    } catch (error) {
      throw this.explain(error, fullName, request);
    }
  }

  private async readChanges(target: GitHubRepo, request: ChangeRequest): Promise<ReleaseChanges> {
    const limits = resolveBudget(request.budget);
    const range = await this.firstParentLine(target, `${request.from}...${request.to}`);
    const merged = await this.mergedPullRequests(target, range.line, limits.maxPullRequests);
    const read = await mapConcurrently(
      merged.slice(0, limits.maxPullRequests),
      CONCURRENCY,
      async (pull): Promise<PullRequest> => ({
        number: pull.number,
        title: pull.title,
        body: pull.body ?? '',
        author: pull.user?.login ?? '',
        url: pull.html_url,
        commit: pull.merge_commit_sha,
        merged_at: Date.parse(pull.merged_at),
        files: await this.files(target, pull.number, limits.maxFilesPerPullRequest),
      }),
    );
    const budgeted = applyBudget(read, limits);
    return {
      source: 'github',
      repo: `${target.owner}/${target.name}`,
      from: request.from,
      to: request.to,
      compare_url: range.compareUrl,
      pull_requests: budgeted.pull_requests,
      truncated: budgeted.truncated || merged.length > read.length || !range.complete,
      ...(merged.length > 0 ? {} : { note: noPullRequestsNote(range.totalCommits, request) }),
    };
  }

  /**
   * The commits from `to` back along first parents to where `from`'s history begins, newest
   * first. Compare pages run oldest first, so the newest page is read next and older ones
   * only while the line reaches into them.
   */
  private async firstParentLine(
    target: GitHubRepo,
    basehead: string,
  ): Promise<{ line: string[]; complete: boolean; compareUrl: string; totalCommits: number }> {
    const comparePage = async (page: number): Promise<CompareData> =>
      (
        await this.octokit.rest.repos.compareCommitsWithBasehead({
          owner: target.owner,
          repo: target.name,
          basehead,
          per_page: PAGE_SIZE,
          page,
        })
      ).data;
    const parentsOf = new Map<string, string[]>();
    const remember = (commits: CompareCommit[]): void => {
      for (const commit of commits) {
        parentsOf.set(
          commit.sha,
          commit.parents.map((parent) => parent.sha),
        );
      }
    };

    const first = await comparePage(1);
    remember(first.commits);
    const pages = Math.max(1, Math.ceil(first.total_commits / PAGE_SIZE));
    let newest = first.commits;
    if (pages > 1) {
      newest = (await comparePage(pages)).commits;
      remember(newest);
    }
    let unreadPage = pages - 1;

    const line: string[] = [];
    let sha = headOf(newest);
    while (sha !== undefined && line.length < MAX_LINE_COMMITS) {
      while (!parentsOf.has(sha) && unreadPage > 1) {
        remember((await comparePage(unreadPage)).commits);
        unreadPage -= 1;
      }
      const parents = parentsOf.get(sha);
      // Not in the compare: the merge base, where the range ends.
      if (parents === undefined) break;
      line.push(sha);
      sha = parents[0];
    }
    const stoppedEarly =
      line.length >= MAX_LINE_COMMITS &&
      sha !== undefined &&
      (parentsOf.has(sha) || unreadPage > 1);
    return {
      line,
      complete: !stoppedEarly,
      compareUrl: first.html_url,
      totalCommits: first.total_commits,
    };
  }

  /**
   * The pull requests merged by the commits of `line`, newest merged first; one past `max`
   * when there are more, so the budget can tell. A pull request counts when its merge commit
   * is on the line: one merged into some other branch that shares a commit does not.
   */
  private async mergedPullRequests(
    target: GitHubRepo,
    line: string[],
    max: number,
  ): Promise<MergedPull[]> {
    const onLine = new Set(line);
    const found = new Map<number, MergedPull>();
    for (let next = 0; next < line.length && found.size <= max; next += CONCURRENCY) {
      const lookups = await Promise.all(
        line.slice(next, next + CONCURRENCY).map(async (sha) => {
          const response = await this.octokit.rest.repos.listPullRequestsAssociatedWithCommit({
            owner: target.owner,
            repo: target.name,
            commit_sha: sha,
            per_page: PAGE_SIZE,
          });
          return response.data;
        }),
      );
      for (const pull of lookups.flat()) {
        if (isMergedOnto(pull, onLine) && !found.has(pull.number)) found.set(pull.number, pull);
      }
    }
    // Array.prototype.sort is stable: pull requests merged in the same second keep the
    // line's order, which is newest first.
    return [...found.values()].sort(
      (left, right) => Date.parse(right.merged_at) - Date.parse(left.merged_at),
    );
  }

  /** The first files of a pull request, one more than `max` when it has more. */
  private async files(target: GitHubRepo, pullNumber: number, max: number): Promise<ChangedFile[]> {
    const files: PullFile[] = [];
    const pages = this.octokit.paginate.iterator(this.octokit.rest.pulls.listFiles, {
      owner: target.owner,
      repo: target.name,
      pull_number: pullNumber,
      per_page: Math.min(PAGE_SIZE, max + 1),
    });
    for await (const page of pages) {
      files.push(...page.data);
      if (files.length > max) break;
    }
    return files.map((file) => ({
      path: file.filename,
      additions: file.additions,
      deletions: file.deletions,
      // GitHub leaves the patch out of binary files and of very large diffs.
      ...(file.patch === undefined ? {} : { patch: file.patch }),
      truncated: false,
    }));
  }

  /** A message a person can act on, with the token nowhere in it. */
  private explain(error: unknown, fullName: string, request: ChangeRequest): RelguardError {
    if (error instanceof RelguardError) return error;
    const failed = error as
      | { status?: unknown; response?: { data?: unknown; headers?: Record<string, unknown> } }
      | undefined;
    const status = failed?.status;
    const response = failed?.response;
    const said = this.scrub(gitHubMessage(response?.data) ?? errorMessage(error));
    const range = `${request.from}...${request.to}`;
    const details = {
      repo: fullName,
      from: request.from,
      to: request.to,
      status,
      apiUrl: this.apiUrl,
    };
    if (typeof status !== 'number' || status >= 500) {
      return new RelguardError(
        FailureType.Unavailable,
        `GitHub at ${this.apiUrl} failed while reading ${fullName} ${range}: ${said}`,
        details,
      );
    }
    const headers = response?.headers ?? {};
    if (status === 429 || (status === 403 && headers['x-ratelimit-remaining'] === '0')) {
      const reset = Number(headers['x-ratelimit-reset']);
      const until = Number.isFinite(reset) ? ` until ${new Date(reset * 1000).toISOString()}` : '';
      return new RelguardError(
        FailureType.Unavailable,
        `GitHub's rate limit for GITHUB_TOKEN is spent${until} (${status} ${said})`,
        details,
      );
    }
    switch (status) {
      case 401:
        return new RelguardError(
          FailureType.BadConfig,
          `GitHub at ${this.apiUrl} refused GITHUB_TOKEN (401 ${said}): the token is wrong, expired or revoked`,
          details,
        );
      case 403:
        return new RelguardError(
          FailureType.BadConfig,
          `GITHUB_TOKEN may not read ${fullName} (403 ${said}): it needs read access to the repository's contents and pull requests`,
          details,
        );
      case 404:
        return new RelguardError(
          FailureType.NotFound,
          `GitHub at ${this.apiUrl} has no repository ${fullName} with tags ${request.from} and ${request.to} (404 ${said}): check the repository's name, that both tags are pushed, and that GITHUB_TOKEN can read the repository`,
          details,
        );
      default:
        return new RelguardError(
          FailureType.BadConfig,
          `GitHub at ${this.apiUrl} refused a request for ${fullName} ${range} (${status} ${said})`,
          details,
        );
    }
  }

  /** GitHub does not echo tokens, but a message that did must not carry one on. */
  private scrub(text: string): string {
    return this.token === '' ? text : text.split(this.token).join('***');
  }
}

function ignore(): void {}

/** The newest commit of a compare page: the last one that no commit of the page descends from. */
function headOf(commits: CompareCommit[]): string | undefined {
  const parents = new Set(commits.flatMap((commit) => commit.parents.map((parent) => parent.sha)));
  return commits.findLast((commit) => !parents.has(commit.sha))?.sha;
}

function isMergedOnto(pull: AssociatedPull, line: Set<string>): pull is MergedPull {
  return (
    pull.merged_at !== null && pull.merge_commit_sha !== null && line.has(pull.merge_commit_sha)
  );
}

function noPullRequestsNote(totalCommits: number, request: ChangeRequest): string {
  return totalCommits === 0
    ? `${request.to} has no commits that ${request.from} does not have`
    : `none of the ${totalCommits} commits between ${request.from} and ${request.to} came from a merged pull request`;
}

function gitHubMessage(data: unknown): string | undefined {
  const message = (data as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}
