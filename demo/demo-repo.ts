import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildMockserverBundle } from './mockserver-bundle';

const run = promisify(execFile);

/** A pull request merged into `main` before its version's tag, the way GitHub merges one. */
export interface DemoPullRequest {
  number: number;
  title: string;
  body?: string;
  /** Its author's name, on its commit and its merge. Default `relguard`. */
  author?: string;
  /** Default `pr-<number>`. */
  branch?: string;
  /** Files it writes, by path in the repository: `mockserver.config.json` carries faults. */
  files: Record<string, string>;
  /**
   * `merge` (default): a commit on its branch and a `--no-ff` merge with GitHub's message,
   * "Merge pull request #N from acme/<branch>" with the title below. `squash`: one commit on
   * `main` titled "<title> (#N)", as GitHub's squash and merge makes it.
   */
  merge?: 'merge' | 'squash';
}

export interface DemoVersion {
  tag: string;
  /**
   * The mockserver.config.json of that version: faults it carries from its start. Unset, the
   * version keeps what the previous one and its own pull requests left (no faults at first).
   */
  config?: unknown;
  /** Merged, in order, before the version's release commit and tag. */
  pullRequests?: DemoPullRequest[];
}

/**
 * A git repository of the demo application (the mockserver bundle as `main.js`, started with
 * `node main.js`) in a new folder under `parentDir`, one tag per version, each tag on a release
 * commit after that version's pull requests. relguard builds its packages from these tags and
 * reads the pull requests between them.
 */
export async function createDemoRepo(
  versions: DemoVersion[],
  parentDir: string = os.tmpdir(),
): Promise<string> {
  await mkdir(parentDir, { recursive: true });
  const repo = await mkdtemp(path.join(parentDir, 'relguard-demo-repo-'));
  const git = (author: string, ...args: string[]) =>
    run(
      'git',
      ['-c', `user.name=${author}`, '-c', `user.email=${emailOf(author)}`, ...args],
      // No editor for a merge message, whatever the machine's git configuration says.
      { cwd: repo, env: { ...process.env, GIT_MERGE_AUTOEDIT: 'no' } },
    );
  const configFile = path.join(repo, 'mockserver.config.json');
  await git('relguard', 'init', '-q', '-b', 'main');
  await mkdir(repo, { recursive: true });
  await buildMockserverBundle(path.join(repo, 'main.js'));
  await writeFile(path.join(repo, 'package.json'), '{ "type": "module" }\n');
  await writeFile(configFile, JSON.stringify({ faults: [] }, null, 2));
  // The application first, so that the first version's pull requests have a main to branch from.
  await git('relguard', 'add', '-A');
  await git('relguard', 'commit', '-q', '-m', 'Add the demo application');
  for (const version of versions) {
    for (const pullRequest of version.pullRequests ?? []) {
      await mergePullRequest(repo, pullRequest, git);
    }
    if (version.config !== undefined) {
      await writeFile(configFile, JSON.stringify(version.config, null, 2));
    }
    await writeFile(path.join(repo, 'VERSION'), `${version.tag}\n`);
    await git('relguard', 'add', '-A');
    await git('relguard', 'commit', '-q', '-m', `release ${version.tag}`);
    await git('relguard', 'tag', version.tag);
  }
  return repo;
}

async function mergePullRequest(
  repo: string,
  pullRequest: DemoPullRequest,
  git: (author: string, ...args: string[]) => Promise<unknown>,
): Promise<void> {
  const author = pullRequest.author ?? 'relguard';
  const branch = pullRequest.branch ?? `pr-${pullRequest.number}`;
  const description = pullRequest.body === undefined ? '' : `\n\n${pullRequest.body}`;
  const squash = pullRequest.merge === 'squash';
  if (!squash) await git(author, 'checkout', '-q', '-b', branch, 'main');
  for (const [file, content] of Object.entries(pullRequest.files)) {
    await mkdir(path.dirname(path.join(repo, file)), { recursive: true });
    await writeFile(path.join(repo, file), content);
  }
  await git(author, 'add', '-A');
  if (squash) {
    await git(
      author,
      'commit',
      '-q',
      '-m',
      `${pullRequest.title} (#${pullRequest.number})${description}`,
    );
    return;
  }
  await git(author, 'commit', '-q', '-m', `${pullRequest.title}${description}`);
  await git(author, 'checkout', '-q', 'main');
  await git(
    author,
    'merge',
    '-q',
    '--no-ff',
    '-m',
    `Merge pull request #${pullRequest.number} from acme/${branch}\n\n${pullRequest.title}${description}`,
    branch,
  );
}

function emailOf(author: string): string {
  return `${author.toLowerCase().replace(/[^a-z0-9.-]+/g, '-')}@users.noreply.github.com`;
}
