import { rm } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChangeSource } from '../../activities/changes';
import { createDemoRepo } from '../support/demo-repo';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github';

const TOKEN = 'ghp_factoryTestToken0123456789abcdef';

/**
 * Makes git fetch `url` from `repo` instead, as a mirror configuration would: the git reader
 * then reads a github.com URL on a machine without the internet.
 */
function redirectGit(url: string, repo: string): void {
  vi.stubEnv('GIT_CONFIG_COUNT', '1');
  vi.stubEnv('GIT_CONFIG_KEY_0', `url.${pathToFileURL(repo).href}.insteadOf`);
  vi.stubEnv('GIT_CONFIG_VALUE_0', url);
}

describe('createChangeSource', () => {
  let github: FakeGitHub;
  let repo: string;
  let enterpriseRepo: string;

  beforeAll(async () => {
    [github, repo] = await Promise.all([
      startFakeGitHub({ token: TOKEN, pathPrefix: '/api/v3' }),
      createDemoRepo([
        { tag: 'v1.0.0' },
        {
          tag: 'v1.1.0',
          pullRequests: [
            {
              number: 12,
              title: 'Retry payments on gateway timeouts',
              author: 'bob',
              files: { 'src/pay.js': 'export const retries = 2;\n' },
            },
          ],
        },
      ]),
    ]);
    const shop = github.repo('acme', 'shop');
    shop.tag('v1.0.0');
    shop.mergePullRequest({ number: 7, title: 'Faster orders', author: 'dave' });
    shop.tag('v1.1.0');
    enterpriseRepo = `${github.url}/acme/shop.git`;
  });

  afterAll(async () => {
    await github?.close();
    if (repo !== undefined) await rm(repo, { recursive: true, force: true });
  });

  beforeEach(() => {
    github.requests.length = 0;
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('uses the GitHub API for a repository on its host when a token is set', async () => {
    const source = createChangeSource({ githubToken: TOKEN, githubApiUrl: github.apiUrl });

    const changes = await source.changesBetween({
      repo: enterpriseRepo,
      from: 'v1.0.0',
      to: 'v1.1.0',
    });

    expect(changes.source).toBe('github');
    expect(changes.note).toBeUndefined();
    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([7]);
    expect(github.requests.length).toBeGreaterThan(0);
  });

  it('reads a GitHub repository with git when no token is set, and says so', async () => {
    redirectGit('https://github.com/acme/shop.git', repo);
    const source = createChangeSource({ githubApiUrl: 'https://api.github.com' });

    const changes = await source.changesBetween({
      repo: 'https://github.com/acme/shop.git',
      from: 'v1.0.0',
      to: 'v1.1.0',
    });

    expect(changes).toMatchObject({
      source: 'git',
      repo: 'https://github.com/acme/shop.git',
      compare_url: 'https://github.com/acme/shop/compare/v1.0.0...v1.1.0',
      note: 'GITHUB_TOKEN is not set: read with git instead of the GitHub API',
    });
    expect(changes.pull_requests.map((pr) => [pr.number, pr.author, pr.url])).toEqual([
      [12, 'bob', 'https://github.com/acme/shop/pull/12'],
    ]);
  });

  it('treats an empty token as none', async () => {
    const source = createChangeSource({ githubToken: '', githubApiUrl: github.apiUrl });

    const changes = await source.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' });

    expect(changes.source).toBe('git');
    expect(github.requests).toEqual([]);
  });

  it('reads a github.com repository with git when the token is for an Enterprise host', async () => {
    redirectGit('git@github.com:acme/shop.git', repo);
    const source = createChangeSource({ githubToken: TOKEN, githubApiUrl: github.apiUrl });

    const changes = await source.changesBetween({
      repo: 'git@github.com:acme/shop.git',
      from: 'v1.0.0',
      to: 'v1.1.0',
    });

    expect(changes.source).toBe('git');
    expect(changes.note).toBe(
      'GITHUB_API_URL serves 127.0.0.1, not github.com: read with git instead of the GitHub API',
    );
    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([12]);
    expect(github.requests).toEqual([]);
  });

  it('reads a local repository with git, token or not, without a note', async () => {
    const source = createChangeSource({ githubToken: TOKEN, githubApiUrl: github.apiUrl });

    const changes = await source.changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' });

    expect(changes.source).toBe('git');
    expect(changes.note).toBeUndefined();
    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([12]);
    expect(github.requests).toEqual([]);
  });

  it('answers a first release without reading anything', async () => {
    for (const githubToken of [TOKEN, undefined]) {
      const source = createChangeSource({ githubToken, githubApiUrl: github.apiUrl });
      const changes = await source.changesBetween({ repo: enterpriseRepo, from: '', to: 'v1.0.0' });
      expect(changes).toMatchObject({ source: 'none', pull_requests: [] });
      expect(changes.note).toBe('first release: v1.0.0 has no previous version to compare with');
    }
    expect(github.requests).toEqual([]);
  });
});
