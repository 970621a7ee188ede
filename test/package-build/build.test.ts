import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureType } from '../../domain/errors';
import { buildPackage, type BuildRequest, type BuildStep } from '../../activities/package-build';
import { relguardFailureOf } from '../support/failures';
import { git } from '../support/git';

const run = promisify(execFile);

async function tarEntries(filePath: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tzf', filePath]);
  return stdout.split('\n').filter((line) => line !== '');
}

/** Whether the process runs; a killed process waiting for its reaper (a zombie) does not. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const state = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(' ')[2];
    return state !== 'Z';
  } catch {
    return false;
  }
}

describe('buildPackage', () => {
  let root: string;
  let repo: string;
  let buildCount = 0;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'relguard-build-'));
    repo = path.join(root, 'repo');
    await mkdir(path.join(repo, 'lib'), { recursive: true });
    await git(root, 'init', '--quiet', '--initial-branch=main', repo);
    await writeFile(path.join(repo, 'app.js'), 'console.log("v1");\n');
    await writeFile(path.join(repo, 'lib', 'util.js'), 'export const one = 1;\n');
    await writeFile(path.join(repo, 'README.md'), '# demo\n');
    await git(repo, 'add', '.');
    await git(repo, 'commit', '--quiet', '-m', 'first');
    await git(repo, 'tag', 'v1.0.0');
    await writeFile(path.join(repo, 'app.js'), 'console.log("v1.1");\n');
    await writeFile(path.join(repo, 'CHANGELOG.md'), '1.1\n');
    await git(repo, 'add', '.');
    await git(repo, 'commit', '--quiet', '-m', 'second');
    await git(repo, 'tag', '-a', 'v1.1.0', '-m', 'release 1.1.0');
    // Uncommitted work in the source repository never reaches a package.
    await writeFile(path.join(repo, 'scratch.txt'), 'not committed\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function request(overrides: Partial<BuildRequest> = {}): BuildRequest {
    buildCount += 1;
    return {
      appName: 'demo',
      repo,
      version: 'v1.0.0',
      workDir: path.join(root, `work-${buildCount}`),
      ...overrides,
    };
  }

  it('packs the files of the tag, without .git, when there is no build command', async () => {
    const steps: BuildStep[] = [];
    const built = await buildPackage(request(), { onProgress: (step) => steps.push(step) });

    expect(path.basename(built.filePath)).toBe('demo-v1.0.0.tar.gz');
    const files = (await tarEntries(built.filePath)).filter((entry) => !entry.endsWith('/'));
    expect(files.sort()).toEqual(['README.md', 'app.js', 'lib/util.js']);
    expect(steps).toEqual(['clone', 'package', 'checksum']);
    const bytes = await readFile(built.filePath);
    expect(built.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(built.size).toBe((await stat(built.filePath)).size);
  });

  it('builds from a file:// URL at an annotated tag', async () => {
    const built = await buildPackage(request({ repo: `file://${repo}`, version: 'v1.1.0' }));

    const files = (await tarEntries(built.filePath)).filter((entry) => !entry.endsWith('/'));
    expect(files.sort()).toEqual(['CHANGELOG.md', 'README.md', 'app.js', 'lib/util.js']);
  });

  it('runs the build command and packs the artifact folder', async () => {
    const steps: BuildStep[] = [];
    const built = await buildPackage(
      request({
        buildCmd: 'mkdir -p dist && cp app.js dist/ && echo built > dist/BUILD',
        artifactPath: 'dist',
      }),
      { onProgress: (step) => steps.push(step) },
    );

    expect((await tarEntries(built.filePath)).sort()).toEqual(['BUILD', 'app.js']);
    expect(steps).toEqual(['clone', 'build', 'package', 'checksum']);
    const unpacked = path.join(root, `unpacked-${buildCount}`);
    await mkdir(unpacked);
    await run('tar', ['-xzf', built.filePath, '-C', unpacked]);
    expect(await readFile(path.join(unpacked, 'BUILD'), 'utf8')).toBe('built\n');
    expect(await readFile(path.join(unpacked, 'app.js'), 'utf8')).toBe('console.log("v1");\n');
    const bytes = await readFile(built.filePath);
    expect(built.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(built.size).toBe(bytes.length);
  });

  it('packs the whole clone without .git after a build command with no artifact path', async () => {
    const built = await buildPackage(request({ buildCmd: 'echo "$RELGUARD_VERSION" > VERSION' }));

    const entries = await tarEntries(built.filePath);
    expect(entries.filter((entry) => !entry.endsWith('/')).sort()).toEqual([
      'README.md',
      'VERSION',
      'app.js',
      'lib/util.js',
    ]);
    expect(entries.some((entry) => entry.startsWith('.git'))).toBe(false);
  });

  it('refuses an unknown tag and says so', async () => {
    const failure = await relguardFailureOf(buildPackage(request({ version: 'v9.9.9' })));

    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain('at tag v9.9.9');
    expect(failure.message).toMatch(/v9\.9\.9 not found/);
  });

  it('refuses a repository that does not exist', async () => {
    const failure = await relguardFailureOf(
      buildPackage(request({ repo: path.join(root, 'nowhere') })),
    );

    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain(`git clone of ${path.join(root, 'nowhere')}`);
    expect(failure.message).toMatch(/does not exist|not a git repository|could not read/i);
  });

  it('keeps credentials of the repository URL out of the message', async () => {
    const failure = await relguardFailureOf(
      buildPackage(request({ repo: 'http://builder:s3cret@127.0.0.1:9/demo.git' })),
    );

    expect(failure.message).toContain('http://***@127.0.0.1:9/demo.git');
    expect(JSON.stringify([failure.message, failure.details])).not.toContain('s3cret');
  });

  it('refuses a failing build command with the end of its output', async () => {
    const failure = await relguardFailureOf(
      buildPackage(
        request({
          buildCmd: 'echo compiling; echo "error: cannot find module left-pad" >&2; exit 3',
        }),
      ),
    );

    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain('build command `echo compiling;');
    expect(failure.message).toContain('exit code 3');
    expect(failure.message).toContain('error: cannot find module left-pad');
  });

  it.each([
    ['../outside', 'must be a folder or file inside the repository'],
    ['/etc', 'must be a folder or file inside the repository'],
    ['escape', 'must be a folder or file inside the repository'],
    ['missing', 'does not exist after the build'],
  ])('refuses the artifact path %j', async (artifactPath, message) => {
    const failure = await relguardFailureOf(
      buildPackage(request({ buildCmd: `ln -s ${os.tmpdir()} escape`, artifactPath })),
    );

    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain(message);
  });

  it('refuses versions that cannot name a package', async () => {
    for (const version of ['release/1.0', '1..2', '1.0 beta', '-c', '']) {
      const failure = await relguardFailureOf(buildPackage(request({ version })));
      expect(failure.type).toBe(FailureType.BadConfig);
    }
  });

  it('ends a build command, and what it started, on abort', async () => {
    const controller = new AbortController();
    const pidFile = path.join(root, 'background.pid');
    const started = Date.now();
    setTimeout(() => controller.abort(), 500);

    await expect(
      buildPackage(request({ buildCmd: `sleep 30 & echo $! > ${pidFile}; wait` }), {
        signal: controller.signal,
      }),
    ).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeLessThan(5000);
    const backgroundPid = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => isRunning(backgroundPid), { timeout: 2000 }).toBe(false);
  });
});
