import { describe, expect, it } from 'vitest';
import { applyBudget, cutPatch, resolveBudget } from '../../activities/changes/budget';
import {
  defaultChangeBudget,
  type ChangeBudget,
  type ChangedFile,
  type PullRequest,
} from '../../domain/code-change';

function file(path: string, patch?: string, truncated = false): ChangedFile {
  return {
    path,
    additions: 1,
    deletions: 1,
    ...(patch === undefined ? {} : { patch }),
    truncated,
  };
}

function pullRequest(number: number, files: ChangedFile[]): PullRequest {
  return { number, title: `#${number}`, body: '', author: 'alice', commit: `c${number}`, files };
}

/** Per pull request, per file: the patch's length, or null when it was left out. */
function patchLengths(pullRequests: PullRequest[]): (number | null)[][] {
  return pullRequests.map((pr) =>
    pr.files.map((f) => (f.patch === undefined ? null : f.patch.length)),
  );
}

describe('resolveBudget', () => {
  it.each<[string, ChangeBudget | undefined, Required<ChangeBudget>]>([
    ['no budget: the defaults', undefined, defaultChangeBudget],
    ['an empty budget: the defaults', {}, defaultChangeBudget],
    [
      'set limits win, the rest default',
      { maxPullRequests: 5, maxPatchChars: 100 },
      { ...defaultChangeBudget, maxPullRequests: 5, maxPatchChars: 100 },
    ],
    [
      'fractions round down, negatives are zero, NaN is unset',
      { maxPullRequests: 2.9, maxFilesPerPullRequest: -3, maxTotalPatchChars: Number.NaN },
      {
        ...defaultChangeBudget,
        maxPullRequests: 2,
        maxFilesPerPullRequest: 0,
        maxTotalPatchChars: defaultChangeBudget.maxTotalPatchChars,
      },
    ],
  ])('%s', (_name, budget, expected) => {
    expect(resolveBudget(budget)).toEqual(expected);
  });
});

describe('cutPatch', () => {
  it.each<[string, string, number, string]>([
    ['shorter than the limit: whole', '@@ -1 +1 @@\n-a\n+b\n', 100, '@@ -1 +1 @@\n-a\n+b\n'],
    ['exactly the limit: whole', 'abcd', 4, 'abcd'],
    ['ends at the last whole line', 'line1\nline2\nline3\n', 14, 'line1\nline2\n'],
    ['one long line: cut where the limit is', 'x'.repeat(100), 10, 'x'.repeat(10)],
    [
      'a line break early on only: cut at the limit',
      `ab\n${'c'.repeat(50)}`,
      20,
      `ab\n${'c'.repeat(17)}`,
    ],
    ['a limit of zero: nothing', 'abc', 0, ''],
    ['never half a surrogate pair', 'ab\u{1F600}cd', 3, 'ab'],
  ])('%s', (_name, patch, limit, expected) => {
    const cut = cutPatch(patch, limit);
    expect(cut).toBe(expected);
    expect(cut.length).toBeLessThanOrEqual(limit);
  });
});

describe('applyBudget', () => {
  const patch = (length: number): string => 'p'.repeat(length);

  it.each<{
    name: string;
    input: PullRequest[];
    budget: ChangeBudget;
    numbers: number[];
    lengths: (number | null)[][];
    truncated: boolean;
  }>([
    {
      name: 'within every limit: unchanged',
      input: [pullRequest(2, [file('a', patch(10))]), pullRequest(1, [file('b', patch(10))])],
      budget: {},
      numbers: [2, 1],
      lengths: [[10], [10]],
      truncated: false,
    },
    {
      name: 'more pull requests than allowed: the first ones',
      input: [pullRequest(3, []), pullRequest(2, []), pullRequest(1, [])],
      budget: { maxPullRequests: 2 },
      numbers: [3, 2],
      lengths: [[], []],
      truncated: true,
    },
    {
      name: 'more files than allowed: the first ones of each',
      input: [pullRequest(1, [file('a', patch(1)), file('b', patch(1)), file('c', patch(1))])],
      budget: { maxFilesPerPullRequest: 2 },
      numbers: [1],
      lengths: [[1, 1]],
      truncated: true,
    },
    {
      name: 'a patch over its limit is cut',
      input: [pullRequest(1, [file('a', patch(50)), file('b', patch(5))])],
      budget: { maxPatchChars: 20 },
      numbers: [1],
      lengths: [[20, 5]],
      truncated: true,
    },
    {
      name: 'the total goes to the newest first, then patches are left out',
      input: [
        pullRequest(3, [file('a', patch(60))]),
        pullRequest(2, [file('b', patch(60))]),
        pullRequest(1, [file('c', patch(60))]),
      ],
      budget: { maxTotalPatchChars: 100 },
      numbers: [3, 2, 1],
      lengths: [[60], [40], [null]],
      truncated: true,
    },
    {
      name: 'a file without a patch (binary) is kept and costs nothing',
      input: [pullRequest(1, [file('logo.png'), file('a', patch(10))])],
      budget: { maxTotalPatchChars: 10 },
      numbers: [1],
      lengths: [[null, 10]],
      truncated: false,
    },
    {
      name: 'a file its source already cut counts as truncated',
      input: [pullRequest(1, [file('a', patch(10), true)])],
      budget: {},
      numbers: [1],
      lengths: [[10]],
      truncated: true,
    },
    {
      name: 'a budget of nothing keeps nothing',
      input: [pullRequest(1, [file('a', patch(10))])],
      budget: { maxPullRequests: 0 },
      numbers: [],
      lengths: [],
      truncated: true,
    },
  ])('$name', ({ input, budget, numbers, lengths, truncated }) => {
    const result = applyBudget(input, budget);
    expect(result.pull_requests.map((pr) => pr.number)).toEqual(numbers);
    expect(patchLengths(result.pull_requests)).toEqual(lengths);
    expect(result.truncated).toBe(truncated);
  });

  it('marks each file it cut or left out, and keeps its counts', () => {
    const result = applyBudget(
      [
        pullRequest(2, [file('a', patch(30)), file('b', patch(5))]),
        pullRequest(1, [file('c', patch(30))]),
      ],
      { maxPatchChars: 20, maxTotalPatchChars: 25 },
    );
    const files = result.pull_requests.flatMap((pr) => pr.files);
    expect(files.map((f) => [f.path, f.patch?.length ?? null, f.truncated])).toEqual([
      ['a', 20, true],
      ['b', 5, false],
      ['c', null, true],
    ]);
    expect(files.every((f) => f.additions === 1 && f.deletions === 1)).toBe(true);
  });

  it('leaves its input alone', () => {
    const input = [pullRequest(1, [file('a', patch(50))])];
    applyBudget(input, { maxPatchChars: 10 });
    expect(input[0]?.files[0]?.patch).toHaveLength(50);
  });
});
