import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LocalGitChangeSource,
  parseMergeMessage,
  parseNumstat,
} from '../../activities/changes/local-git';
import { FailureType } from '../../domain/errors';
import { createDemoRepo } from '../support/demo-repo';
import { relguardFailureOf } from '../support/failures';

const run = promisify(execFile);

/** The v1.1.0 fault of the demo: an error burst on /api/pay, shipped in a pull request. */
const payErrors = {
  faults: [{ type: 'error', params: { rate: 0.3, status: 503, routes: ['/api/pay'] } }],
};

describe('LocalGitChangeSource', () => {
  let repo: string;
  let tempDir: string;
  const source = (): LocalGitChangeSource => new LocalGitChangeSource({ tempDir });

  beforeAll(async () => {
    repo = await createDemoRepo([
      {
        tag: 'v1.0.0',
        pullRequests: [
          { number: 1, title: 'Start the shop', files: { 'docs/shop.md': '# Shop\n' } },
        ],
      },
      {
        tag: 'v1.1.0',
        pullRequests: [
          {
            number: 11,
            title: 'Cache user lookups',
            body: 'Users are read once a minute instead of on every request.',
            author: 'alice',
            branch: 'user-cache',
            files: { 'src/users-cache.js': 'export const cache = new Map();\n' },
          },
          {
            number: 12,
            title: 'Retry payments on gateway timeouts',
            body: 'The gateway times out under load; retry twice.',
            author: 'bob',
            files: {
              'mockserver.config.json': JSON.stringify(payErrors, null, 2),
              'src/pay.js': 'export const retries = 2;\n',
            },
          },
          {
            number: 13,
            title: 'Document the orders API',
            author: 'carol',
            files: {
              'docs/orders.md': '# Orders\n\nGET /api/orders lists a dozen orders.\n',
              'docs/orders-example.json': '[{ "id": 1 }]\n',
              'docs/orders.png': 'PNG\u0000\u0001\u0002 not text',
            },
          },
          {
            number: 14,
            title: 'Bump the logger',
            body: '* Bump pino\n* Drop a dead option',
            author: 'dave',
            merge: 'squash',
            files: { 'src/logger.js': 'export const level = "info";\n' },
          },
        ],
      },
      {
        tag: 'v1.2.0',
        pullRequests: [{ number: 15, title: 'Undo the retries', files: { 'src/pay.js': '' } }],
      },
    ]);
    // Lets the fetch of a file:// URL be a real partial clone: file contents on demand.
    await run('git', ['config', 'uploadpack.allowFilter', 'true'], { cwd: repo });
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-changes-test-'));
  });

  afterAll(async () => {
    await Promise.all([
      repo === undefined ? undefined : rm(repo, { recursive: true, force: true }),
      tempDir === undefined ? undefined : rm(tempDir, { recursive: true, force: true }),
    ]);
  });

  it('reads the pull requests between two tags, newest first', async () => {
    const changes = await source().changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' });

    expect(changes).toMatchObject({
      source: 'git',
      repo,
      from: 'v1.0.0',
      to: 'v1.1.0',
      truncated: false,
    });
    expect(changes.note).toBeUndefined();
    expect(changes.compare_url).toBeUndefined();
    expect(changes.pull_requests.map((pr) => [pr.number, pr.title, pr.author])).toEqual([
      [14, 'Bump the logger', 'dave'],
      [13, 'Document the orders API', 'carol'],
      [12, 'Retry payments on gateway timeouts', 'bob'],
      [11, 'Cache user lookups', 'alice'],
    ]);

    const payments = changes.pull_requests[2];
    const mergeCommit = (
      await run('git', ['log', '--format=%H', '--grep=^Merge pull request #12 ', 'v1.1.0'], {
        cwd: repo,
      })
    ).stdout.trim();
    expect(payments).toMatchObject({
      body: 'The gateway times out under load; retry twice.',
      commit: mergeCommit,
    });
    expect(payments?.url).toBeUndefined();
    expect(payments?.merged_at).toBeGreaterThan(Date.parse('2020-01-01'));
    // git's own count of the merge against its first parent: the pull request's change.
    const numstat = (
      await run('git', ['diff', '--numstat', `${mergeCommit}^1`, mergeCommit], { cwd: repo })
    ).stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .map(([added, deleted, file]) => [file, Number(added), Number(deleted), false]);
    expect(payments?.files.map((f) => [f.path, f.additions, f.deletions, f.truncated])).toEqual(
      numstat,
    );
    expect(numstat.map(([file]) => file)).toEqual(['mockserver.config.json', 'src/pay.js']);
    const configPatch = payments?.files[0]?.patch ?? '';
    expect(configPatch.startsWith('@@ ')).toBe(true);
    expect(configPatch).toContain('+          "/api/pay"');
    expect(configPatch).toContain('-  "faults": []');
    expect(payments?.files[1]?.patch).toBe('@@ -0,0 +1 @@\n+export const retries = 2;\n');
  });

  it('reads a squash merge and credits the pull request author', async () => {
    const changes = await source().changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' });
    const squashed = changes.pull_requests[0];

    expect(squashed).toMatchObject({
      number: 14,
      title: 'Bump the logger',
      body: '* Bump pino\n* Drop a dead option',
      author: 'dave',
    });
    expect(squashed?.files.map((f) => f.path)).toEqual(['src/logger.js']);
    expect(squashed?.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('gives counts but no patch for a binary file', async () => {
    const changes = await source().changesBetween({ repo, from: 'v1.0.0', to: 'v1.1.0' });
    const docs = changes.pull_requests[1];

    expect(docs?.files.map((f) => f.path)).toEqual([
      'docs/orders-example.json',
      'docs/orders.md',
      'docs/orders.png',
    ]);
    expect(docs?.files[2]).toEqual({
      path: 'docs/orders.png',
      additions: 0,
      deletions: 0,
      truncated: false,
    });
    expect(docs?.files[1]?.patch).toContain('+GET /api/orders lists a dozen orders.');
  });

  it('cuts pull requests, files and patches to the budget', async () => {
    const changes = await source().changesBetween({
      repo,
      from: 'v1.0.0',
      to: 'v1.1.0',
      budget: { maxPullRequests: 2, maxFilesPerPullRequest: 2, maxPatchChars: 40 },
    });

    expect(changes.truncated).toBe(true);
    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([14, 13]);
    expect(changes.pull_requests[1]?.files.map((f) => f.path)).toEqual([
      'docs/orders-example.json',
      'docs/orders.md',
    ]);
    const patches = changes.pull_requests.flatMap((pr) => pr.files);
    for (const file of patches) expect(file.patch?.length ?? 0).toBeLessThanOrEqual(40);
    expect(patches.find((f) => f.path === 'docs/orders.md')).toMatchObject({
      patch: '@@ -0,0 +1,3 @@\n+# Orders\n+\n',
      truncated: true,
    });
  });

  it('keeps the files and their counts when the budget leaves no room for patches', async () => {
    const changes = await source().changesBetween({
      repo,
      from: 'v1.0.0',
      to: 'v1.1.0',
      budget: { maxPatchChars: 0 },
    });

    expect(changes.truncated).toBe(true);
    const all = changes.pull_requests.flatMap((pr) => pr.files);
    expect(all).toHaveLength(7);
    expect(all.filter((f) => f.patch !== undefined)).toEqual([]);
    expect(all.find((f) => f.path === 'src/pay.js')).toEqual({
      path: 'src/pay.js',
      additions: 1,
      deletions: 0,
      truncated: true,
    });
  });

  it('names the tags that do not exist', async () => {
    const oneMissing = await relguardFailureOf(
      source().changesBetween({ repo, from: 'v1.0.0', to: 'v9.9.9' }),
    );
    expect(oneMissing.type).toBe(FailureType.NotFound);
    expect(oneMissing.message).toBe(
      `tag "v9.9.9" not found in ${repo}: push the tag or check the versions`,
    );

    const bothMissing = await relguardFailureOf(
      source().changesBetween({ repo, from: 'v0.1.0', to: 'v9.9.9' }),
    );
    expect(bothMissing.message).toContain('tags "v0.1.0" and "v9.9.9" not found');
  });

  it('reads a file:// URL through a clone that it removes afterwards', async () => {
    const url = pathToFileURL(repo).href;

    const changes = await source().changesBetween({ repo: url, from: 'v1.0.0', to: 'v1.1.0' });

    expect(changes.repo).toBe(url);
    expect(changes.pull_requests.map((pr) => pr.number)).toEqual([14, 13, 12, 11]);
    expect(changes.pull_requests[2]?.files[0]?.patch).toContain('/api/pay');
    expect(await readdir(tempDir)).toEqual([]);

    const error = await relguardFailureOf(
      source().changesBetween({ repo: url, from: 'v1.0.0', to: 'v9.9.9' }),
    );
    expect(error.message).toContain('"v9.9.9"');
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('fails clearly on a URL it cannot fetch, and cleans up', async () => {
    const missing = pathToFileURL(path.join(tempDir, 'no-such-repo')).href;

    const error = await relguardFailureOf(
      source().changesBetween({ repo: missing, from: 'v1.0.0', to: 'v1.1.0' }),
    );

    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toContain(`git fetch of the tags of ${missing} failed`);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('answers a first release with source none', async () => {
    const changes = await source().changesBetween({ repo, from: '', to: 'v1.0.0' });

    expect(changes).toMatchObject({ source: 'none', from: '', to: 'v1.0.0', pull_requests: [] });
    expect(changes.note).toContain('first release');
  });

  it('says when no pull request came between the tags', async () => {
    const changes = await source().changesBetween({ repo, from: 'v1.1.0', to: 'v1.1.0' });

    expect(changes.pull_requests).toEqual([]);
    expect(changes.note).toContain('no merge or squash-merge commit');
  });

  it('refuses a folder that is not a git repository', async () => {
    const error = await relguardFailureOf(
      source().changesBetween({ repo: tempDir, from: 'v1.0.0', to: 'v1.1.0' }),
    );
    expect(error.type).toBe(FailureType.BadConfig);
    expect(error.message).toBe(`${tempDir} is not a git repository`);
  });

  it('keeps the demo config a pull request changed in the versions after it', async () => {
    const configAt = async (tag: string): Promise<unknown> =>
      JSON.parse(
        (await run('git', ['show', `${tag}:mockserver.config.json`], { cwd: repo })).stdout,
      );

    expect(await configAt('v1.0.0')).toEqual({ faults: [] });
    expect(await configAt('v1.1.0')).toEqual(payErrors);
    expect(await configAt('v1.2.0')).toEqual(payErrors);
  });
});

describe('parseMergeMessage', () => {
  it.each<[string, string, boolean, ReturnType<typeof parseMergeMessage>]>([
    [
      "GitHub's merge: the title below the subject",
      'Merge pull request #12 from acme/fix-pay\n\nRetry payments\n',
      true,
      { number: 12, title: 'Retry payments', body: '' },
    ],
    [
      "GitHub's merge with the description",
      'Merge pull request #12 from acme/fix-pay\n\nRetry payments\n\nTwice, then give up.\n',
      true,
      { number: 12, title: 'Retry payments', body: 'Twice, then give up.' },
    ],
    [
      "GitHub's merge without a title: the branch",
      'Merge pull request #12 from acme/fix-pay',
      true,
      { number: 12, title: 'acme/fix-pay', body: '' },
    ],
    [
      'another merge: its subject',
      "Merge branch 'hotfix' into main\n",
      true,
      { title: "Merge branch 'hotfix' into main", body: '' },
    ],
    [
      'a squash merge',
      'Retry payments (#12)\n\n* first try\n* second try\n',
      false,
      { number: 12, title: 'Retry payments', body: '* first try\n* second try' },
    ],
    ['a commit pushed to the branch', 'release v1.1.0\n', false, undefined],
    ['a number that is not at the end', 'Fix (#12) for good\n', false, undefined],
  ])('%s', (_name, message, isMerge, expected) => {
    expect(parseMergeMessage(message, isMerge)).toEqual(expected);
  });
});

describe('parseNumstat', () => {
  it('reads counts, binary files and renames', () => {
    const output = '3\t1\tsrc/a.js\0-\t-\tlogo.png\0' + '0\t0\t\0old name.js\0new name.js\0';
    expect(parseNumstat(output)).toEqual([
      { path: 'src/a.js', additions: 3, deletions: 1, binary: false },
      { path: 'logo.png', additions: 0, deletions: 0, binary: true },
      { path: 'new name.js', additions: 0, deletions: 0, binary: false },
    ]);
  });
});
