import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import { configVariables } from '../../domain/config';
import type {
  ChangeBudget,
  ChangedFile,
  PullRequest,
  ReleaseChanges,
} from '../../domain/code-change';
import { FailureType, RelguardError } from '../../domain/errors';
import { applyBudget, resolveBudget } from './budget';
import { checkChangeRequest, firstReleaseChanges } from './first-release';
import { gitHubRepoOn, isGitUrl, redactCredentials } from './repo-url';
import type { ChangeRequest, ChangeSource } from './types';

const execFileAsync = promisify(execFile);

export interface LocalGitChangeSourceOptions {
  /** Where a repository given by URL is cloned, in a folder of its own removed after. */
  tempDir?: string;
  /** How long one git command may take (the clone of a large repository included). Default 120 s. */
  commandTimeoutMs?: number;
  /**
   * Web hosts that are a GitHub (github.com, an Enterprise host): a repository URL on one of
   * them gets links to its pull requests and to the compare. Default github.com.
   */
  gitHubHosts?: readonly string[];
}

/** A merge or squash commit on the first-parent line, read as a pull request. */
interface MergeCommit {
  sha: string;
  parents: string[];
  number?: number;
  title: string;
  body: string;
  author: string;
  /** Epoch ms the commit landed (its committer date). */
  landedAt: number;
}

interface GitResult {
  /** 0, git's exit code, or why it ended without one (a signal, a Node error code). */
  code: number | string;
  timedOut?: boolean;
  stdout: string;
  stderr: string;
}

/** Commits of the first-parent line read at most; a release is far shorter. */
const MAX_LINE_COMMITS = 5_000;
/** Output of one bounded git command (log, numstat) kept at most. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** git's error output kept for a message. */
const MAX_ERROR_CHARS = 4_000;
/** The empty tree, by object format: what a root commit's changes are measured against. */
const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const EMPTY_TREE_SHA256 = '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321';
/** GitHub's merge message: "Merge pull request #12 from acme/fix-pay", the title below it. */
const GITHUB_MERGE = /^Merge pull request #(\d+) from (\S+)/;
/** GitHub's squash (and many tools') subject: "Retry payments on timeouts (#12)". */
const SQUASH_SUBJECT = /^(.*\S)\s+\(#(\d+)\)$/;
/** git failures that a later attempt may not meet: the network, not the repository. */
const TRANSIENT_GIT_FAILURE =
  /could not resolve host|temporary failure in name resolution|couldn't connect to server|connection refused|connection timed out|operation timed out|connection reset|early eof|returned error: 5\d\d|http 5\d\d/i;
/** Options that keep a user's git configuration (colour, external diff tools) out of output. */
const DIFF_OPTIONS = ['--no-color', '--no-ext-diff', '--no-textconv', '--no-relative', '-M'];

/**
 * The pull requests of a release from a git repository: the merge commits on the first-parent
 * line between the two tags (GitHub's "Merge pull request #N" messages) and the squash merges
 * ("Title (#N)"), each with the files and patches of `git diff <commit>^1 <commit>`. A local
 * path is read in place; a URL is fetched (tags only, without file contents until a diff
 * needs them) into a temporary folder removed afterwards.
 */
export class LocalGitChangeSource implements ChangeSource {
  private readonly tempDir: string;
  private readonly timeoutMs: number;
  private readonly gitHubHosts: readonly string[];

  constructor(options: LocalGitChangeSourceOptions = {}) {
    this.tempDir = options.tempDir ?? os.tmpdir();
    this.timeoutMs = options.commandTimeoutMs ?? 120_000;
    this.gitHubHosts = options.gitHubHosts ?? ['github.com'];
  }

  async changesBetween(request: ChangeRequest): Promise<ReleaseChanges> {
    checkChangeRequest(request);
    const label = redactCredentials(request.repo);
    if (request.from === '') return firstReleaseChanges(request, label);
    if (request.repo.startsWith('-')) {
      throw new RelguardError(FailureType.BadConfig, `${label} is not a repository path or URL`, {
        repo: label,
      });
    }
    if (!isGitUrl(request.repo)) {
      const dir = path.resolve(request.repo);
      await this.checkRepository(dir, label);
      return await this.read(dir, request, label);
    }
    const dir = await mkdtemp(path.join(this.tempDir, 'relguard-changes-'));
    try {
      await this.fetchTags(request.repo, dir, label);
      return await this.read(dir, request, label);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async read(dir: string, request: ChangeRequest, label: string): Promise<ReleaseChanges> {
    const limits = resolveBudget(request.budget);
    const { fromSha, toSha } = await this.resolveTags(dir, request, label);
    const { merges, complete } = await this.mergeCommits(dir, fromSha, toSha);
    const emptyTree = await this.emptyTree(dir);
    const web = this.webUrl(request.repo);
    const read: PullRequest[] = [];
    for (const merge of merges.slice(0, limits.maxPullRequests)) {
      const base = merge.parents[0] ?? emptyTree;
      read.push({
        ...(merge.number === undefined ? {} : { number: merge.number }),
        title: merge.title,
        body: merge.body,
        author: merge.author,
        ...(web === undefined || merge.number === undefined
          ? {}
          : { url: `${web}/pull/${merge.number}` }),
        commit: merge.sha,
        merged_at: merge.landedAt,
        files: await this.files(dir, base, merge.sha, limits),
      });
    }
    const budgeted = applyBudget(read, limits);
    return {
      source: 'git',
      repo: label,
      from: request.from,
      to: request.to,
      ...(web === undefined
        ? {}
        : { compare_url: `${web}/compare/${request.from}...${request.to}` }),
      pull_requests: budgeted.pull_requests,
      truncated: budgeted.truncated || merges.length > read.length || !complete,
      ...(merges.length > 0
        ? {}
        : {
            note: `no merge or squash-merge commit of a pull request between ${request.from} and ${request.to} in ${label}`,
          }),
    };
  }

  private async checkRepository(dir: string, label: string): Promise<void> {
    const info = await stat(dir).catch(() => undefined);
    if (info?.isDirectory() !== true) {
      throw new RelguardError(
        FailureType.BadConfig,
        `repository ${label} is not a folder on this worker`,
        {
          repo: label,
        },
      );
    }
    const probe = await this.run(['rev-parse', '--git-dir'], dir);
    if (probe.code !== 0) {
      throw new RelguardError(FailureType.BadConfig, `${label} is not a git repository`, {
        repo: label,
        output: probe.stderr,
      });
    }
  }

  /** A bare repository with the remote's tags and the commits they reach, blobs on demand. */
  private async fetchTags(url: string, dir: string, label: string): Promise<void> {
    await this.git(['init', '--quiet', '--bare'], dir, `git init in ${dir}`);
    await this.git(['remote', 'add', 'origin', url], dir, `git remote add of ${label}`);
    await this.git(
      [
        // ext:: runs commands of the URL's choosing; git refuses it by default, keep it so.
        '-c',
        'protocol.ext.allow=never',
        'fetch',
        '--quiet',
        '--no-tags',
        // A partial clone: commits and trees now, file contents when a diff reads them.
        '--filter=blob:none',
        'origin',
        '+refs/tags/*:refs/tags/*',
      ],
      dir,
      `git fetch of the tags of ${label}`,
    );
  }

  /** The commits the two tags point at; one error naming every tag that is missing. */
  private async resolveTags(
    dir: string,
    request: ChangeRequest,
    label: string,
  ): Promise<{ fromSha: string; toSha: string }> {
    const commitOf = async (tag: string): Promise<string | undefined> => {
      const result = await this.run(
        ['rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`],
        dir,
      );
      return result.code === 0 ? result.stdout.trim() : undefined;
    };
    const [fromSha, toSha] = await Promise.all([commitOf(request.from), commitOf(request.to)]);
    if (fromSha !== undefined && toSha !== undefined) return { fromSha, toSha };
    const missing = [
      ...(fromSha === undefined ? [request.from] : []),
      ...(toSha === undefined ? [request.to] : []),
    ];
    const tags = missing.length === 1 ? 'tag' : 'tags';
    throw new RelguardError(
      FailureType.NotFound,
      `${tags} ${missing.map((tag) => JSON.stringify(tag)).join(' and ')} not found in ${label}: push the ${tags} or check the versions`,
      { repo: label, missing },
    );
  }

  /** The merges and squash merges on the first-parent line from `to` back to `from`, newest first. */
  private async mergeCommits(
    dir: string,
    fromSha: string,
    toSha: string,
  ): Promise<{ merges: MergeCommit[]; complete: boolean }> {
    const output = await this.git(
      [
        'log',
        '--first-parent',
        '--no-show-signature',
        `--max-count=${MAX_LINE_COMMITS + 1}`,
        '-z',
        '--format=%H%x1f%P%x1f%an%x1f%ct%x1f%B',
        `${fromSha}..${toSha}`,
      ],
      dir,
      'git log of the first-parent line',
    );
    const records = output.split('\0').filter((record) => record !== '');
    const merges: MergeCommit[] = [];
    const branchHeads = new Map<MergeCommit, string>();
    for (const record of records.slice(0, MAX_LINE_COMMITS)) {
      const [sha = '', parentList = '', author = '', landed = '0', ...message] =
        record.split('\x1f');
      const parents = parentList.split(' ').filter((parent) => parent !== '');
      const merge = parseMergeMessage(message.join('\x1f'), parents.length > 1);
      if (merge === undefined) continue;
      const commit = { sha, parents, author, landedAt: Number(landed) * 1000, ...merge };
      merges.push(commit);
      const branchHead = parents[1];
      if (branchHead !== undefined) branchHeads.set(commit, branchHead);
    }
    // A merge commit is made by whoever pressed merge; the pull request's author wrote the
    // branch, so a merge is credited to the author of the branch's last commit.
    const branchAuthors = await this.authors(dir, [...new Set(branchHeads.values())]);
    for (const [commit, branchHead] of branchHeads) {
      commit.author = branchAuthors.get(branchHead) ?? commit.author;
    }
    return { merges, complete: records.length <= MAX_LINE_COMMITS };
  }

  private async authors(dir: string, shas: string[]): Promise<Map<string, string>> {
    if (shas.length === 0) return new Map();
    const output = await this.git(
      ['show', '--no-patch', '--no-show-signature', '-z', '--format=%H%x1f%an', ...shas],
      dir,
      'git show of the merged branches',
    );
    return new Map(
      output
        .split('\0')
        .filter((record) => record !== '')
        .map((record) => {
          const [sha = '', author = ''] = record.trim().split('\x1f');
          return [sha, author] as const;
        }),
    );
  }

  private async emptyTree(dir: string): Promise<string> {
    const format = (
      await this.git(['rev-parse', '--show-object-format'], dir, 'git rev-parse')
    ).trim();
    return format === 'sha256' ? EMPTY_TREE_SHA256 : EMPTY_TREE_SHA1;
  }

  /**
   * The files `commit` changed against `base`: counts from numstat, patches from the diff
   * itself. Both list files in the same order, so the n-th patch is the n-th file's; only the
   * patches the budget can use are kept, each cut just past its limit, and the diff is
   * stopped once the files the budget reads are through.
   */
  private async files(
    dir: string,
    base: string,
    commit: string,
    limits: Required<ChangeBudget>,
  ): Promise<ChangedFile[]> {
    const numstat = await this.git(
      ['diff', ...DIFF_OPTIONS, '--numstat', '-z', base, commit, '--'],
      dir,
      `git diff --numstat of ${commit}`,
    );
    const counted = parseNumstat(numstat);
    const patches = await this.patches(
      dir,
      ['diff', ...DIFF_OPTIONS, '--patch', base, commit, '--'],
      { maxFiles: limits.maxFilesPerPullRequest, maxChars: limits.maxPatchChars + 1 },
      `git diff of ${commit}`,
    );
    return counted.map((file, index) => {
      const patch = patches[index];
      return {
        path: file.path,
        additions: file.additions,
        deletions: file.deletions,
        ...(file.binary || patch === undefined ? {} : { patch }),
        truncated: false,
      };
    });
  }

  /**
   * The patch of each of the first `maxFiles` files, from the first hunk on (the shape
   * GitHub gives), at most `maxChars` characters each; undefined for a file without hunks
   * (binary, renamed or mode change only). Read as a stream: a huge diff costs no memory.
   */
  private async patches(
    dir: string,
    args: string[],
    { maxFiles, maxChars }: { maxFiles: number; maxChars: number },
    what: string,
  ): Promise<(string | undefined)[]> {
    if (maxFiles === 0) return [];
    const patches: (string | undefined)[] = [];
    let inHunks = false;
    let enough = false;
    const child = spawn('git', args, {
      cwd: dir,
      env: gitEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: this.timeoutMs,
    });
    // Enough of every line to tell a file's header and a hunk's start, however small the budget.
    const lines = new LineSplitter(Math.max(maxChars, 'diff --git '.length), (line) => {
      if (enough) return;
      if (line.startsWith('diff --git ')) {
        if (patches.length === maxFiles) {
          enough = true;
          child.kill('SIGTERM');
          return;
        }
        patches.push(undefined);
        inHunks = false;
        return;
      }
      const index = patches.length - 1;
      if (index < 0) return;
      if (!inHunks) {
        if (!line.startsWith('@@')) return;
        inHunks = true;
      }
      const sofar = patches[index] ?? '';
      if (sofar.length < maxChars) patches[index] = (sofar + line + '\n').slice(0, maxChars);
    });
    const decoder = new StringDecoder('utf8');
    child.stdout.on('data', (chunk: Buffer) => lines.push(decoder.write(chunk)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_ERROR_CHARS) stderr += chunk.toString('utf8');
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
      },
    );
    if (enough) return patches;
    lines.push(decoder.end());
    lines.end();
    if (code !== 0) {
      throw this.failure(what, {
        code: code ?? signal ?? 'killed',
        ...(code === null ? { timedOut: true } : {}),
        stderr,
      });
    }
    return patches;
  }

  /** The repository's web page, when it is on a GitHub: pull request and compare links. */
  private webUrl(repo: string): string | undefined {
    const onGitHub = gitHubRepoOn(repo, this.gitHubHosts);
    if (onGitHub === undefined) return undefined;
    return `https://${onGitHub.host}/${onGitHub.owner}/${onGitHub.name}`;
  }

  /** Runs git; a failure becomes a RelguardError naming `what` with git's own words. */
  private async git(args: string[], cwd: string, what: string): Promise<string> {
    const result = await this.run(args, cwd);
    if (result.code !== 0) throw this.failure(what, result);
    return result.stdout;
  }

  private async run(args: string[], cwd: string): Promise<GitResult> {
    try {
      const { stdout, stderr } = await execFileAsync('git', args, {
        cwd,
        env: gitEnv(),
        encoding: 'utf8',
        maxBuffer: MAX_OUTPUT_BYTES,
        timeout: this.timeoutMs,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as {
        code?: unknown;
        signal?: unknown;
        killed?: unknown;
        stdout?: unknown;
        stderr?: unknown;
      };
      if (failed.code === 'ENOENT') {
        throw new RelguardError(FailureType.BadConfig, 'git is not installed on the worker');
      }
      const outcome: Pick<GitResult, 'code' | 'timedOut'> =
        typeof failed.code === 'number' || typeof failed.code === 'string'
          ? { code: failed.code }
          : {
              code: typeof failed.signal === 'string' ? failed.signal : 'killed',
              // Node kills it on the timeout (and on too much output, which has a code).
              timedOut: failed.killed === true,
            };
      return {
        ...outcome,
        stdout: typeof failed.stdout === 'string' ? failed.stdout : '',
        stderr: typeof failed.stderr === 'string' ? failed.stderr : '',
      };
    }
  }

  private failure(what: string, result: Omit<GitResult, 'stdout'>): RelguardError {
    const output = redactCredentials(result.stderr.trim().slice(-MAX_ERROR_CHARS)) || '(no output)';
    const type =
      result.timedOut === true || TRANSIENT_GIT_FAILURE.test(output)
        ? FailureType.Unavailable
        : FailureType.BadConfig;
    const exit =
      result.timedOut === true
        ? `no answer within ${this.timeoutMs / 1000} s`
        : typeof result.code === 'number'
          ? `exit code ${result.code}`
          : result.code;
    return new RelguardError(type, `${what} failed (${exit}): ${output}`, {
      exitCode: result.code,
      output,
    });
  }
}

/**
 * The pull request a first-parent commit's message names: a GitHub merge ("Merge pull request
 * #N from owner/branch", the title on the next lines), any other merge (its subject as the
 * title), or a squash merge ("Title (#N)"). Undefined for a commit pushed straight to the
 * branch, which no pull request brought.
 */
export function parseMergeMessage(
  message: string,
  isMerge: boolean,
): { number?: number; title: string; body: string } | undefined {
  const [subject = '', ...rest] = message.replace(/\s+$/, '').split('\n');
  if (isMerge) {
    const merge = GITHUB_MERGE.exec(subject);
    if (merge === null) return { title: subject.trim(), body: rest.join('\n').trim() };
    const firstLine = rest.findIndex((line) => line.trim() !== '');
    const title = firstLine === -1 ? (merge[2] ?? subject) : (rest[firstLine] ?? '').trim();
    const body =
      firstLine === -1
        ? ''
        : rest
            .slice(firstLine + 1)
            .join('\n')
            .trim();
    return { number: Number(merge[1]), title, body };
  }
  const squash = SQUASH_SUBJECT.exec(subject.trim());
  if (squash === null) return undefined;
  return { number: Number(squash[2]), title: squash[1] ?? subject, body: rest.join('\n').trim() };
}

/** `git diff --numstat -z`: "added\tdeleted\tpath\0", a rename as "added\tdeleted\t\0from\0to\0". */
export function parseNumstat(
  output: string,
): { path: string; additions: number; deletions: number; binary: boolean }[] {
  const fields = output.split('\0');
  const files: { path: string; additions: number; deletions: number; binary: boolean }[] = [];
  for (let index = 0; index < fields.length; index++) {
    const field = fields[index] ?? '';
    if (field === '') continue;
    const [added = '', deleted = '', inlinePath = ''] = field.split('\t');
    let filePath = inlinePath;
    if (inlinePath === '') {
      // A rename: the old path, then the new one, in the next two fields.
      filePath = fields[index + 2] ?? '';
      index += 2;
    }
    const binary = added === '-' && deleted === '-';
    files.push({
      path: filePath,
      additions: binary ? 0 : Number(added),
      deletions: binary ? 0 : Number(deleted),
      binary,
    });
  }
  return files;
}

/** Splits a stream into lines, keeping at most `maxChars` of each so one huge line stays cheap. */
class LineSplitter {
  private pending = '';
  private dropping = false;

  constructor(
    private readonly maxChars: number,
    private readonly onLine: (line: string) => void,
  ) {}

  push(text: string): void {
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (!this.dropping) {
        this.pending += end === -1 ? text.slice(start) : text.slice(start, end);
        if (this.pending.length > this.maxChars) {
          this.pending = this.pending.slice(0, this.maxChars);
          this.dropping = true;
        }
      }
      if (end === -1) return;
      this.onLine(this.pending);
      this.pending = '';
      this.dropping = false;
      start = end + 1;
    }
  }

  end(): void {
    if (this.pending !== '') this.onLine(this.pending);
    this.pending = '';
  }
}

/**
 * The worker's environment (PATH, proxies, SSH agent) without relguard's own settings, so
 * that GITHUB_TOKEN and the rest never reach git or a credential helper; and no prompts,
 * which would wait for ever without a terminal.
 */
function gitEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of configVariables) delete env[name];
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_SSH_COMMAND ??= 'ssh -o BatchMode=yes';
  return env;
}
