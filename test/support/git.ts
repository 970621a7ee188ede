import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** git in `cwd` as a fixed test author, unsigned whatever the machine's configuration; its stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(
    'git',
    [
      '-c',
      'user.name=relguard test',
      '-c',
      'user.email=test@relguard.invalid',
      '-c',
      'commit.gpgsign=false',
      '-c',
      'tag.gpgsign=false',
      ...args,
    ],
    { cwd },
  );
  return stdout.trim();
}

/** Commits `content` as app.js on the repository's current branch; returns the commit's SHA. */
export async function commitAppJs(repo: string, content: string): Promise<string> {
  await writeFile(path.join(repo, 'app.js'), content);
  await git(repo, 'add', 'app.js');
  await git(repo, 'commit', '--quiet', '-m', content.trim());
  return await git(repo, 'rev-parse', 'HEAD');
}
