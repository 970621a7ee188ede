import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, type BuildRequest } from '../../activities/package-build';
import { FailureType } from '../../domain/errors';
import { relguardFailureOf } from '../support/failures';
import { git, commitAppJs } from '../support/git';

/**
 * The build takes `refs/tags/<version>` and nothing else. The repository here has, for each
 * version, a branch of the same name on another commit (what anyone who can push a branch can
 * make): `git clone --branch` took the branch and packed its unreviewed code.
 */
const run = promisify(execFile);

/** The files of a package and their contents. */
async function unpack(filePath: string, into: string): Promise<Record<string, string>> {
  await mkdir(into, { recursive: true });
  await run('tar', ['-xzf', filePath, '-C', into]);
  const { stdout } = await run('find', ['.', '-type', 'f'], { cwd: into });
  const files: Record<string, string> = {};
  for (const file of stdout.split('\n').filter((line) => line !== '')) {
    files[file.replace(/^\.\//, '')] = await readFile(path.join(into, file), 'utf8');
  }
  return files;
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('buildPackage takes the tag, never a branch of the same name', () => {
  let root: string;
  let repo: string;
  /** The commits of the tags, of the branches that share their names, and of main. */
  const sha = { tag: '', branch: '', annotatedTag: '', annotatedCommit: '', annotatedBranch: '' };
  let builds = 0;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'relguard-tag-checkout-'));
    repo = path.join(root, 'repo');
    await git(root, 'init', '--quiet', '--initial-branch=main', repo);
    await writeFile(path.join(repo, 'README.md'), '# demo\n');
    await git(repo, 'add', 'README.md');
    sha.tag = await commitAppJs(repo, 'console.log("reviewed 2.0.0");\n');
    await git(repo, 'tag', 'v2.0.0');
    sha.annotatedCommit = await commitAppJs(repo, 'console.log("reviewed 3.0.0");\n');
    await git(repo, 'tag', '-a', 'v3.0.0', '-m', 'release 3.0.0');
    sha.annotatedTag = await git(repo, 'rev-parse', 'refs/tags/v3.0.0');
    // An attacker's branches, named as the tags, on commits nobody reviewed.
    await git(repo, 'checkout', '--quiet', '-b', 'v2.0.0');
    sha.branch = await commitAppJs(repo, 'console.log("UNREVIEWED branch v2.0.0");\n');
    await git(repo, 'checkout', '--quiet', '-b', 'v3.0.0');
    sha.annotatedBranch = await commitAppJs(repo, 'console.log("UNREVIEWED branch v3.0.0");\n');
    // A branch with no tag of its name.
    await git(repo, 'checkout', '--quiet', '-b', 'v4.0.0');
    await commitAppJs(repo, 'console.log("UNREVIEWED branch v4.0.0");\n');
    await git(repo, 'checkout', '--quiet', 'main');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function request(overrides: Partial<BuildRequest> = {}): BuildRequest {
    builds += 1;
    return {
      appName: 'demo',
      repo,
      version: 'v2.0.0',
      workDir: path.join(root, `work-${builds}`),
      ...overrides,
    };
  }

  it('packs the commit of tag v2.0.0 although a branch v2.0.0 exists, and says which commit', async () => {
    const built = await buildPackage(request());

    const files = await unpack(built.filePath, path.join(root, `unpacked-${builds}`));
    expect(files).toEqual({
      'README.md': '# demo\n',
      'app.js': 'console.log("reviewed 2.0.0");\n',
    });
    expect(built.commitSha).toBe(sha.tag);
    expect(built.tagSha).toBe(sha.tag);
    expect(built.commitSha).not.toBe(sha.branch);
  });

  it('builds with a build command from the tag too (a file:// URL)', async () => {
    const built = await buildPackage(
      request({
        repo: `file://${repo}`,
        buildCmd: 'mkdir dist && cp app.js dist/',
        artifactPath: 'dist',
      }),
    );

    const files = await unpack(built.filePath, path.join(root, `unpacked-${builds}`));
    expect(files).toEqual({ 'app.js': 'console.log("reviewed 2.0.0");\n' });
    expect(built.commitSha).toBe(sha.tag);
  });

  it('takes an annotated tag to its commit: the commit and the tag object are both recorded', async () => {
    const built = await buildPackage(request({ version: 'v3.0.0' }));

    const files = await unpack(built.filePath, path.join(root, `unpacked-${builds}`));
    expect(files['app.js']).toBe('console.log("reviewed 3.0.0");\n');
    expect(built.commitSha).toBe(sha.annotatedCommit);
    expect(built.tagSha).toBe(sha.annotatedTag);
    expect(sha.annotatedTag).not.toBe(sha.annotatedCommit);
  });

  it('builds when the tag is where the push said: its commit, or its annotated tag object', async () => {
    const byCommit = await buildPackage(request({ expectedSha: sha.tag.toUpperCase() }));
    expect(byCommit.commitSha).toBe(sha.tag);
    const byTagObject = await buildPackage(
      request({ version: 'v3.0.0', expectedSha: sha.annotatedTag }),
    );
    expect(byTagObject.commitSha).toBe(sha.annotatedCommit);
    const byPeeledCommit = await buildPackage(
      request({ version: 'v3.0.0', expectedSha: sha.annotatedCommit }),
    );
    expect(byPeeledCommit.commitSha).toBe(sha.annotatedCommit);
  });

  it('refuses a tag that is not where the push said, naming both SHAs, and builds nothing', async () => {
    const moved = request({
      expectedSha: sha.branch,
      // Would show that a build ran.
      buildCmd: 'touch BUILD_RAN',
    });
    const failure = await relguardFailureOf(buildPackage(moved));

    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain(`tag v2.0.0 of ${repo} is at commit ${sha.tag}`);
    expect(failure.message).toContain(`not at ${sha.branch}`);
    expect(failure.details).toMatchObject({ expectedSha: sha.branch, commitSha: sha.tag });
    expect(await exists(path.join(moved.workDir, 'src', 'BUILD_RAN'))).toBe(false);
    expect(await exists(path.join(moved.workDir, 'demo-v2.0.0.tar.gz'))).toBe(false);

    const annotated = await relguardFailureOf(
      buildPackage(request({ version: 'v3.0.0', expectedSha: sha.annotatedBranch })),
    );
    expect(annotated.message).toContain(
      `is at commit ${sha.annotatedCommit} (tag object ${sha.annotatedTag}), not at ${sha.annotatedBranch}`,
    );
  });

  it('refuses an expected SHA that is not a full object name', async () => {
    for (const expectedSha of [sha.tag.slice(0, 12), 'main', `${sha.tag}0`]) {
      const failure = await relguardFailureOf(buildPackage(request({ expectedSha })));
      expect(failure.type).toBe(FailureType.BadConfig);
      expect(failure.message).toContain('is not a full git object name');
    }
  });

  it('refuses a version that is only a branch: the tag is missing, and the error names it and the repo', async () => {
    const failure = await relguardFailureOf(buildPackage(request({ version: 'v4.0.0' })));

    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain(`tag v4.0.0 not found in ${repo}`);
    expect(failure.message).toContain('refs/tags/v4.0.0');
  });
});

describe('a git remote that never answers', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];
  let closed = 0;
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'relguard-hung-remote-'));
    // Accepts the connection, reads the request and never says a word.
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('close', () => (closed += 1));
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(root, { recursive: true, force: true });
  });

  it('stops git after GIT_TIMEOUT_SECONDS and fails naming the repository and the command', async () => {
    const repo = `http://builder:s3cret@127.0.0.1:${port}/acme/shop.git`;
    const failure = await relguardFailureOf(
      buildPackage(
        { appName: 'shop', repo, version: 'v1.0.0', workDir: path.join(root, 'work') },
        { gitTimeoutMs: 1000 },
      ),
    );

    // Unavailable: the remote's fault, retried by the workflow like any outage.
    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toContain(
      `git clone of http://***@127.0.0.1:${port}/acme/shop.git at tag v1.0.0 timed out after 1 s (GIT_TIMEOUT_SECONDS)`,
    );
    expect(failure.message).toContain('git --git-dir');
    expect(failure.message).toContain('fetch');
    expect(failure.details).toMatchObject({ timeoutSeconds: 1 });
    expect(JSON.stringify([failure.message, failure.details])).not.toContain('s3cret');
    // git connected, and was stopped: its connection is gone.
    expect(sockets.length).toBeGreaterThan(0);
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(sockets.length);
  });
});
