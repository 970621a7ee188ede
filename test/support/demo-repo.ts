import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildMockserverBundle } from './mockserver-bundle';

const run = promisify(execFile);

export interface DemoVersion {
  tag: string;
  /** The mockserver.config.json of that version: faults it carries from its start. */
  config?: unknown;
}

/**
 * A git repository of the demo application (the mockserver bundle as `main.js`, started with
 * `node main.js`), one tag per version. relguard builds its packages from these tags.
 */
export async function createDemoRepo(versions: DemoVersion[]): Promise<string> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'relguard-demo-repo-'));
  const git = (...args: string[]) =>
    run('git', ['-c', 'user.name=relguard', '-c', 'user.email=relguard@localhost', ...args], {
      cwd: repo,
    });
  await git('init', '-q', '-b', 'main');
  await mkdir(repo, { recursive: true });
  await buildMockserverBundle(path.join(repo, 'main.js'));
  await writeFile(path.join(repo, 'package.json'), '{ "type": "module" }\n');
  for (const version of versions) {
    await writeFile(
      path.join(repo, 'mockserver.config.json'),
      JSON.stringify(version.config ?? { faults: [] }, null, 2),
    );
    await writeFile(path.join(repo, 'VERSION'), `${version.tag}\n`);
    await git('add', '-A');
    await git('commit', '-q', '-m', `release ${version.tag}`);
    await git('tag', version.tag);
  }
  return repo;
}
