import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubChangeSource } from '../../activities/changes/github';
import { FailureType, RelguardError } from '../../domain/errors';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubFile } from '../support/fake-github';

const TOKEN = 'ghp_fakeTokenThatMustNeverLeak0123456789';

function files(count: number, prefix = 'src/file'): FakeGitHubFile[] {
  return Array.from({ length: count }, (_, index) => ({
    filename: `${prefix}-${index}.js`,
    additions: 1,
    deletions: 0,
    patch: `@@ -0,0 +1 @@\n+export const value${index} = ${index};`,
  }));
}

async function failureOf(promise: Promise<unknown>): Promise<RelguardError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RelguardError);
  return error as RelguardError;
}

/** Everything an error shows anyone: its message, its details and its stack. */
function shown(error: RelguardError): string {
  return JSON.stringify({ message: error.message, details: error.details, stack: error.stack });
}

describe('GitHubChangeSource (GitHub Enterprise layout, /api/v3)', () => {
  let github: FakeGitHub;
  let source: GitHubChangeSource;
  let repo: string;
  const merges: Record<number, string> = {};

  beforeAll(async () => {
    github = await startFakeGitHub({ token: TOKEN, pathPrefix: '/api/v3' });
    const shop = github.repo('acme', 'shop');
    shop.mergePullRequest({ number: 1, title: 'Initial shop', files: files(1) });
    shop.tag('v1.0.0');
    merges[10] = shop.mergePullRequest({
      number: 10,
      title: 'Cache user lookups',
      body: 'Users are read once a minute.',
      author: 'alice',
      files: [
        {
          filename: 'src/users.js',
          additions: 3,
          deletions: 1,
          patch:
            '@@ -1,2 +1,4 @@\n-const users = load();\n+const cache = new Map();\n+const users = cached(load);\n+export { cache };',
        },
        { filename: 'docs/diagram.png', additions: 0, deletions: 0 },
      ],
    });
    shop.pushCommit('Bump the version');
    merges[11] = shop.mergePullRequest({
      number: 11,
      title: 'Retry payments on gateway timeouts',
      body: null,
      author: 'bob',
      merge: 'squash',
      files: [
        {
          filename: 'mockserver.config.json',
          additions: 3,
          deletions: 1,
          patch:
            '@@ -1 +1,3 @@\n-{ "faults": [] }\n+{\n+  "faults": [{ "type": "error", "params": { "rate": 0.3, "routes": ["/api/pay"] } }]\n+}',
        },
      ],
    });
    merges[12] = shop.mergePullRequest({
      number: 12,
      title: 'Document the orders API',
      author: 'carol',
      merge: 'rebase',
      files: files(2, 'docs/orders'),
    });
    // GitHub also lists these for commits of the release; neither was merged through it.
    shop.addOtherPullRequest({ number: 13, title: 'Still open', commits: [merges[11]] });
    shop.addOtherPullRequest({
      number: 14,
      title: 'Backport to release-1.0',
      commits: [merges[11]],
      mergedInto: 'f'.repeat(40),
    });
    shop.tag('v1.1.0');
    shop.mergePullRequest({ number: 20, title: 'Split the handlers', files: files(130) });
    shop.tag('v1.2.0');

    // More commits than one compare page holds.
    const big = github.repo('acme', 'big');
    big.tag('v1');
    for (let number = 1; number <= 150; number++) {
      big.mergePullRequest({ number, title: `Change ${number}`, merge: 'squash', files: files(1) });
    }
    big.tag('v2');

    source = new GitHubChangeSource({ token: TOKEN, apiUrl: github.apiUrl });
    repo = 'git@127.0.0.1:acme/shop.git';
  });

  afterAll(async () => {
    await github?.close();
  });

  beforeEach(() => {
    github.requests.length = 0;
    github.fail = undefined;
  });

  it('reads the merged pull requests of a release, newest merged first', async () => {
    const changes = await source.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' });

    expect(changes).toMatchObject({
      source: 'github',
      repo: 'acme/shop',
      from: 'v1.0.0',
      to: 'v1.1.0',
      compare_url: `${github.url}/acme/shop/compare/v1.0.0...v1.1.0`,
      truncated: false,
    });
    expect(changes.note).toBeUndefined();
    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([12, 11, 10]);
    const [documented, payments, cache] = changes.pull_requests;
    expect(cache).toMatchObject({
      number: 10,
      title: 'Cache user lookups',
      body: 'Users are read once a minute.',
      author: 'alice',
      url: `${github.url}/acme/shop/pull/10`,
      commit: merges[10],
    });
    expect(cache?.merged_at).toEqual(
      Date.parse(github.repo('acme', 'shop').pulls.get(10)?.merged_at ?? ''),
    );
    expect(cache?.files).toEqual([
      {
        path: 'src/users.js',
        additions: 3,
        deletions: 1,
        patch: expect.stringContaining('+const cache = new Map();') as unknown,
        truncated: false,
      },
      { path: 'docs/diagram.png', additions: 0, deletions: 0, truncated: false },
    ]);
    expect(payments).toMatchObject({ number: 11, author: 'bob', body: '', commit: merges[11] });
    expect(payments?.files[0]?.patch).toContain('/api/pay');
    expect(documented).toMatchObject({ number: 12, author: 'carol', commit: merges[12] });
    expect(documented?.files.map((f) => f.path)).toEqual(['docs/orders-0.js', 'docs/orders-1.js']);
  });

  it('sends the token on every request, under the Enterprise path prefix', async () => {
    await source.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' });

    expect(github.requests.length).toBeGreaterThan(3);
    for (const request of github.requests) {
      expect(request.authorization).toBe(`token ${TOKEN}`);
      expect(request.path.startsWith('/api/v3/repos/acme/shop/')).toBe(true);
      expect(request.status).toBe(200);
    }
    const paths = github.requests.map((request) => request.path);
    expect(paths).toContain('/api/v3/repos/acme/shop/compare/v1.0.0...v1.1.0');
    expect(paths).toContain(`/api/v3/repos/acme/shop/commits/${merges[10]}/pulls`);
    expect(paths).toContain('/api/v3/repos/acme/shop/pulls/10/files');
    // One lookup per commit on the first-parent line, none for the branch commit of #10.
    expect(
      paths.filter((path) => path.endsWith('/pulls') && path.includes('/commits/')),
    ).toHaveLength(5);
  });

  it("follows the Link header through a pull request's files", async () => {
    const changes = await source.changesBetween({
      repo,
      from: 'v1.1.0',
      to: 'v1.2.0',
      budget: { maxFilesPerPullRequest: 200, maxTotalPatchChars: 1_000_000 },
    });

    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([20]);
    expect(changes.pull_requests[0]?.files).toHaveLength(130);
    expect(changes.truncated).toBe(false);
    const pages = github.requests.filter((request) => request.path.endsWith('/pulls/20/files'));
    expect(pages.map((request) => request.query)).toEqual([
      { per_page: '100' },
      { per_page: '100', page: '2' },
    ]);
  });

  it('reads only the files the budget can use', async () => {
    const changes = await source.changesBetween({ repo, from: 'v1.1.0', to: 'v1.2.0' });

    // The default 30 files: one page of 31 tells that there are more.
    expect(changes.pull_requests[0]?.files).toHaveLength(30);
    expect(changes.truncated).toBe(true);
    const pages = github.requests.filter((request) => request.path.endsWith('/pulls/20/files'));
    expect(pages.map((request) => request.query)).toEqual([{ per_page: '31' }]);
  });

  it('cuts pull requests and patches to the budget', async () => {
    const changes = await source.changesBetween({
      repo,
      from: 'v1.0.0',
      to: 'v1.1.0',
      budget: { maxPullRequests: 2, maxPatchChars: 20 },
    });

    expect(changes.truncated).toBe(true);
    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([12, 11]);
    const patched = changes.pull_requests.flatMap((pr) => pr.files).filter((f) => f.patch);
    expect(patched.length).toBeGreaterThan(0);
    for (const file of patched) expect(file.patch?.length).toBeLessThanOrEqual(20);
    expect(changes.pull_requests[1]?.files[0]?.truncated).toBe(true);
    // Pull request #10 was past the budget: its files were never asked for.
    expect(github.requests.some((request) => request.path.endsWith('/pulls/10/files'))).toBe(false);
  });

  it('pages through a compare of more than one page, newest first, and stops at the budget', async () => {
    const changes = await source.changesBetween({
      repo: `${github.url}/acme/big`,
      from: 'v1',
      to: 'v2',
      budget: { maxPullRequests: 5 },
    });

    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([150, 149, 148, 147, 146]);
    expect(changes.truncated).toBe(true);
    const compares = github.requests.filter((request) => request.path.includes('/compare/'));
    expect(compares.map((request) => request.query.page)).toEqual(['1', '2']);
    const lookups = github.requests.filter((request) => request.path.endsWith('/pulls'));
    expect(lookups.length).toBeLessThanOrEqual(8);
  });

  it('answers a first release without asking GitHub', async () => {
    const changes = await source.changesBetween({ repo, from: '', to: 'v1.0.0' });

    expect(changes).toMatchObject({ source: 'none', repo: 'acme/shop', pull_requests: [] });
    expect(changes.note).toContain('first release');
    expect(github.requests).toEqual([]);
  });

  it('says when a range has commits but no merged pull request', async () => {
    const direct = github.repo('acme', 'direct');
    direct.tag('v1');
    direct.pushCommit('Fix a typo');
    direct.tag('v2');

    const changes = await source.changesBetween({
      repo: `${github.url}/acme/direct.git`,
      from: 'v1',
      to: 'v2',
    });

    expect(changes.pull_requests).toEqual([]);
    expect(changes.note).toBe(
      'none of the 1 commits between v1 and v2 came from a merged pull request',
    );
  });

  it('names the repository and both tags when GitHub answers 404', async () => {
    const unknownRepo = await failureOf(
      source.changesBetween({ repo: `${github.url}/acme/nope`, from: 'v1.0.0', to: 'v1.1.0' }),
    );
    expect(unknownRepo.type).toBe(FailureType.NotFound);
    expect(unknownRepo.message).toContain('acme/nope');
    expect(unknownRepo.message).toContain('v1.0.0');
    expect(unknownRepo.message).toContain('v1.1.0');

    const unknownTag = await failureOf(
      source.changesBetween({ repo, from: 'v1.0.0', to: 'v9.9.9' }),
    );
    expect(unknownTag.type).toBe(FailureType.NotFound);
    expect(unknownTag.message).toMatch(/acme\/shop.*v1\.0\.0.*v9\.9\.9/);
  });

  it('says the token was refused without showing it', async () => {
    const wrongToken = 'ghp_wrongTokenAlsoSecret9876543210';
    const refused = new GitHubChangeSource({ token: wrongToken, apiUrl: github.apiUrl });

    const error = await failureOf(refused.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' }));

    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain('GITHUB_TOKEN');
    expect(error.message).toContain('401');
    expect(shown(error)).not.toContain(wrongToken);
    expect(github.requests[0]?.authorization).toBe(`token ${wrongToken}`);
  });

  it('tells a spent rate limit (retryable) from a token without access', async () => {
    github.fail = {
      status: 403,
      message: 'API rate limit exceeded',
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1900000000' },
    };
    const limited = await failureOf(source.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' }));
    expect(limited.type).toBe(FailureType.Unavailable);
    expect(limited.message).toContain('rate limit');
    expect(limited.message).toContain(new Date(1_900_000_000_000).toISOString());

    github.fail = { status: 403, message: 'Resource not accessible by personal access token' };
    const forbidden = await failureOf(
      source.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' }),
    );
    expect(forbidden.type).toBe(FailureType.BadConfig);
    expect(forbidden.message).toContain('GITHUB_TOKEN may not read acme/shop');

    for (const error of [limited, forbidden]) expect(shown(error)).not.toContain(TOKEN);
  });

  it('treats a GitHub outage as retryable', async () => {
    github.fail = { status: 502, message: 'Server Error' };
    const error = await failureOf(source.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' }));
    expect(error.type).toBe(FailureType.Unavailable);
    expect(shown(error)).not.toContain(TOKEN);
  });

  it('refuses a repository on a host its API does not serve', async () => {
    const error = await failureOf(
      source.changesBetween({ repo: 'https://github.com/acme/shop.git', from: 'v1', to: 'v2' }),
    );
    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain('127.0.0.1');
    expect(github.requests).toEqual([]);
  });
});

describe('GitHubChangeSource (api.github.com layout)', () => {
  let github: FakeGitHub;

  beforeAll(async () => {
    github = await startFakeGitHub({ token: TOKEN });
    const shop = github.repo('acme', 'shop');
    shop.tag('v1.0.0');
    shop.mergePullRequest({ number: 7, title: 'Faster orders', author: 'dave', files: files(1) });
    shop.tag('v1.1.0');
  });

  afterAll(async () => {
    await github?.close();
  });

  it('serves github.com repositories by default and works without a path prefix', async () => {
    expect(new GitHubChangeSource({ token: TOKEN }).hosts).toEqual([
      'github.com',
      'www.github.com',
    ]);

    const source = new GitHubChangeSource({ token: TOKEN, apiUrl: `${github.url}/` });
    const changes = await source.changesBetween({
      repo: `https://someone:${TOKEN}@127.0.0.1/acme/shop.git`,
      from: 'v1.0.0',
      to: 'v1.1.0',
    });

    expect(changes.pull_requests.map((pr) => [pr.number, pr.author])).toEqual([[7, 'dave']]);
    expect(github.requests.every((request) => request.path.startsWith('/repos/acme/shop/'))).toBe(
      true,
    );
    expect(JSON.stringify(changes)).not.toContain(TOKEN);
  });
});
