import { createHash } from 'node:crypto';
import http from 'node:http';
import { freePort } from './free-port';

/**
 * A GitHub REST API of the test's own on a loopback port, answering the endpoints relguard's
 * change source calls the way GitHub does: compare (commits oldest first, paged), the pull
 * requests of a commit, and a pull request's files paged through the `Link` header. With
 * `pathPrefix: '/api/v3'` it answers where a GitHub Enterprise Server does.
 */

export interface FakeGitHubFile {
  filename: string;
  additions: number;
  deletions: number;
  /** Left out, as GitHub does for binary files and very large diffs. */
  patch?: string;
}

export interface FakeGitHubPullRequestInput {
  number: number;
  title: string;
  body?: string | null;
  author?: string;
  files?: FakeGitHubFile[];
  /**
   * `merge` (default): a branch commit and a merge commit on main; `squash`: one commit on
   * main; `rebase`: one commit on main per entry of `rebasedCommits` (default 2).
   */
  merge?: 'merge' | 'squash' | 'rebase';
  rebasedCommits?: number;
  /** ISO time; by default a clock that moves one minute per merge. */
  mergedAt?: string;
}

interface FakeCommit {
  sha: string;
  parents: string[];
  message: string;
  author: string;
  date: string;
}

interface FakePull {
  number: number;
  title: string;
  body: string | null;
  author: string;
  state: 'open' | 'closed';
  merged_at: string | null;
  merge_commit_sha: string | null;
  /** The commits GitHub associates the pull request with (its own and its merge commit). */
  commits: string[];
  files: FakeGitHubFile[];
}

export interface FakeGitHubRequest {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  status: number;
}

/** One repository: a `main` branch grown by direct commits and merged pull requests. */
export class FakeGitHubRepo {
  readonly commits: FakeCommit[] = [];
  readonly tags = new Map<string, string>();
  readonly pulls = new Map<number, FakePull>();
  private head: string | undefined;
  private clock = Date.parse('2030-01-01T00:00:00Z');

  constructor(
    readonly owner: string,
    readonly name: string,
  ) {}

  /** A commit pushed straight to main; its sha. */
  pushCommit(message: string, author = 'relguard'): string {
    const sha = this.commit(message, author, this.head === undefined ? [] : [this.head]);
    this.head = sha;
    return sha;
  }

  tag(name: string): string {
    const sha = this.head ?? this.pushCommit('initial commit');
    this.tags.set(name, sha);
    return sha;
  }

  /** A pull request merged into main as GitHub would merge it; its merge commit's sha. */
  mergePullRequest(input: FakeGitHubPullRequestInput): string {
    const author = input.author ?? 'octocat';
    const mergedAt = input.mergedAt ?? this.tick();
    const base = this.head ?? this.pushCommit('initial commit');
    const own: string[] = [];
    let mergeSha: string;
    switch (input.merge ?? 'merge') {
      case 'merge': {
        const branchCommit = this.commit(input.title, author, [base]);
        own.push(branchCommit);
        mergeSha = this.commit(
          `Merge pull request #${input.number} from ${this.owner}/pr-${input.number}\n\n${input.title}`,
          'web-flow',
          [base, branchCommit],
        );
        break;
      }
      case 'squash':
        mergeSha = this.commit(`${input.title} (#${input.number})`, author, [base]);
        break;
      case 'rebase': {
        let parent = base;
        for (let index = 0; index < (input.rebasedCommits ?? 2); index++) {
          parent = this.commit(`${input.title}, part ${index + 1}`, author, [parent]);
          own.push(parent);
        }
        mergeSha = parent;
        break;
      }
    }
    this.head = mergeSha;
    this.pulls.set(input.number, {
      number: input.number,
      title: input.title,
      body: input.body === undefined ? `Body of #${input.number}` : input.body,
      author,
      state: 'closed',
      merged_at: mergedAt,
      merge_commit_sha: mergeSha,
      commits: [...new Set([...own, mergeSha])],
      files: input.files ?? [],
    });
    return mergeSha;
  }

  /**
   * A pull request GitHub associates with `commits` without it being merged through them:
   * still open, or merged into another branch (`mergedInto` names that branch's commit).
   */
  addOtherPullRequest(input: {
    number: number;
    title: string;
    commits: string[];
    mergedInto?: string;
  }): void {
    this.pulls.set(input.number, {
      number: input.number,
      title: input.title,
      body: null,
      author: 'someone',
      state: input.mergedInto === undefined ? 'open' : 'closed',
      merged_at: input.mergedInto === undefined ? null : this.tick(),
      merge_commit_sha: input.mergedInto ?? null,
      commits: input.commits,
      files: [],
    });
  }

  /** Commits reachable from `to` and not from `from`, oldest first, as GitHub lists them. */
  range(from: string, to: string): FakeCommit[] {
    const excluded = this.ancestors(from);
    const included = this.ancestors(to);
    return this.commits.filter((commit) => included.has(commit.sha) && !excluded.has(commit.sha));
  }

  private ancestors(sha: string): Set<string> {
    const seen = new Set<string>();
    const pending = [sha];
    const bySha = new Map(this.commits.map((commit) => [commit.sha, commit]));
    while (pending.length > 0) {
      const next = pending.pop() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      pending.push(...(bySha.get(next)?.parents ?? []));
    }
    return seen;
  }

  private commit(message: string, author: string, parents: string[]): string {
    const sha = createHash('sha1')
      .update(`${this.owner}/${this.name}#${this.commits.length}:${message}`)
      .digest('hex');
    this.commits.push({ sha, parents, message, author, date: this.tick() });
    return sha;
  }

  private tick(): string {
    this.clock += 60_000;
    return new Date(this.clock).toISOString();
  }
}

export interface FakeGitHubOptions {
  /** The token requests must carry; any other (or none) gets 401 Bad credentials. */
  token: string;
  /** '' for api.github.com's layout, '/api/v3' for a GitHub Enterprise Server's. */
  pathPrefix?: string;
}

export interface FakeGitHub {
  /** The server's origin: the "web host" of its repositories. */
  url: string;
  /** What GITHUB_API_URL would be: the origin and the path prefix. */
  apiUrl: string;
  requests: FakeGitHubRequest[];
  /** While set, every API request gets this answer (a rate limit, an outage). */
  fail: { status: number; message: string; headers?: Record<string, string> } | undefined;
  repo(owner: string, name: string): FakeGitHubRepo;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const prefix = options.pathPrefix ?? '';
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const repos = new Map<string, FakeGitHubRepo>();
  const requests: FakeGitHubRequest[] = [];

  const fake: FakeGitHub = {
    url: origin,
    apiUrl: `${origin}${prefix}`,
    requests,
    fail: undefined,
    repo(owner, name) {
      const key = `${owner}/${name}`;
      let repo = repos.get(key);
      if (repo === undefined) {
        repo = new FakeGitHubRepo(owner, name);
        repos.set(key, repo);
      }
      return repo;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const answer = (request: http.IncomingMessage): Reply => {
    const url = new URL(request.url ?? '/', origin);
    if (fake.fail !== undefined) {
      const { status, message, headers } = fake.fail;
      return { status, body: { message, documentation_url: DOCS }, headers: headers ?? {} };
    }
    const authorization = request.headers.authorization;
    const presented = /^(?:token|bearer) (.+)$/i.exec(authorization ?? '')?.[1];
    if (presented !== options.token) {
      return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS } };
    }
    if (request.method !== 'GET' || !url.pathname.startsWith(`${prefix}/repos/`)) {
      return notFound();
    }
    const parts = url.pathname
      .slice(`${prefix}/repos/`.length)
      .split('/')
      .map((part) => decodeURIComponent(part));
    const [owner = '', name = '', resource, ...rest] = parts;
    const repo = repos.get(`${owner}/${name}`);
    if (repo === undefined) return notFound();
    const page = Number(url.searchParams.get('page') ?? '1');
    const pageLink = (perPage: number, total: number): Record<string, string> =>
      linkHeader(url, page, perPage, total);

    if (resource === 'compare' && rest.length >= 1) {
      const basehead = rest.join('/');
      const [base = '', head = ''] = basehead.split('...');
      const baseSha = repo.tags.get(base);
      const headSha = repo.tags.get(head);
      if (baseSha === undefined || headSha === undefined) return notFound();
      const all = repo.range(baseSha, headSha);
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? '250'));
      const commits = all.slice((page - 1) * perPage, page * perPage);
      return {
        status: 200,
        headers: pageLink(perPage, all.length),
        body: {
          url: `${fake.apiUrl}/repos/${owner}/${name}/compare/${basehead}`,
          html_url: `${origin}/${owner}/${name}/compare/${basehead}`,
          status: all.length === 0 ? 'identical' : 'ahead',
          ahead_by: all.length,
          behind_by: 0,
          total_commits: all.length,
          commits: commits.map((commit) => ({
            sha: commit.sha,
            parents: commit.parents.map((sha) => ({ sha })),
            commit: {
              message: commit.message,
              author: {
                name: commit.author,
                email: `${commit.author}@example.com`,
                date: commit.date,
              },
            },
          })),
          files: [],
        },
      };
    }
    if (resource === 'commits' && rest.length === 2 && rest[1] === 'pulls') {
      const sha = rest[0] ?? '';
      const pulls = [...repo.pulls.values()].filter((pull) => pull.commits.includes(sha));
      return {
        status: 200,
        body: pulls.map((pull) => ({
          number: pull.number,
          title: pull.title,
          body: pull.body,
          state: pull.state,
          user: { login: pull.author },
          html_url: `${origin}/${owner}/${name}/pull/${pull.number}`,
          merged_at: pull.merged_at,
          merge_commit_sha: pull.merge_commit_sha,
        })),
      };
    }
    if (resource === 'pulls' && rest.length === 2 && rest[1] === 'files') {
      const pull = repo.pulls.get(Number(rest[0]));
      if (pull === undefined) return notFound();
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? '30'));
      return {
        status: 200,
        headers: pageLink(perPage, pull.files.length),
        body: pull.files.slice((page - 1) * perPage, page * perPage).map((file) => ({
          ...file,
          status: 'modified',
          changes: file.additions + file.deletions,
        })),
      };
    }
    return notFound();
  };

  const server = http.createServer((request, response) => {
    const reply = answer(request);
    const url = new URL(request.url ?? '/', origin);
    requests.push({
      method: request.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: request.headers.authorization,
      status: reply.status,
    });
    response.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      ...reply.headers,
    });
    response.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return fake;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

function notFound(): Reply {
  return { status: 404, body: { message: 'Not Found', documentation_url: DOCS } };
}

/** GitHub's pagination: absolute URLs of the next and last pages, when there are more. */
function linkHeader(
  url: URL,
  page: number,
  perPage: number,
  total: number,
): Record<string, string> {
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  if (page >= lastPage) return {};
  const pageUrl = (target: number): string => {
    const next = new URL(url);
    next.searchParams.set('per_page', String(perPage));
    next.searchParams.set('page', String(target));
    return next.toString();
  };
  return { link: `<${pageUrl(page + 1)}>; rel="next", <${pageUrl(lastPage)}>; rel="last"` };
}
