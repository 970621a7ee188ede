import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, readlink, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { slug } from '../domain/application';
import { configVariables } from '../domain/config';
import { FailureType, RelguardError } from '../domain/errors';
import { versionProblem } from '../domain/version';
import {
  commandEnv,
  commandIdentity,
  describeUser,
  giveToCommandUser,
  type CommandSettings,
} from './platform/command-env';

/** What to build: the tree of `repo` at tag `version`, optionally through a build command. */
export interface BuildRequest {
  appName: string;
  /** Any git URL, a local path or a file:// URL. */
  repo: string;
  /** A git tag: always `refs/tags/<version>`, never a branch of the same name. */
  version: string;
  /**
   * The SHA the tag is expected at (a GitHub push announced it): the tag's commit or, for an
   * annotated tag, its tag object. A tag found anywhere else is refused before anything is built.
   */
  expectedSha?: string;
  /** Runs in a shell at the root of the clone. */
  buildCmd?: string;
  /** The folder or file inside the clone to package; the whole clone (without .git) by default. */
  artifactPath?: string;
  /** A folder of this build's own; the clone and the package are made inside it. */
  workDir: string;
}

export type BuildStep = 'clone' | 'build' | 'package' | 'checksum';

export interface BuildOptions {
  signal?: AbortSignal;
  /**
   * Who build_cmd runs as (RELGUARD_RUN_AS) and what else it is given (RELGUARD_COMMAND_ENV);
   * its environment is the allow-list of command-env.ts, never the worker's own.
   */
  commands?: CommandSettings;
  onProgress?: (step: BuildStep) => void;
  /** How long a git command that talks to the remote may take (GIT_TIMEOUT_SECONDS). */
  gitTimeoutMs?: number;
}

export interface BuiltPackage {
  /** `<workDir>/<app>-<version>.tar.gz`: entries are paths relative to the package root. */
  filePath: string;
  md5: string;
  /** SHA-256 of the archive: the store key holds it, every download checks it. */
  sha256: string;
  size: number;
  /** The commit the tag points to: the package holds exactly its tree (and what the build made). */
  commitSha: string;
  /** The tag's own object: its annotated tag object, or the commit for a lightweight tag. */
  tagSha: string;
}

/** GIT_TIMEOUT_SECONDS' default. */
export const DEFAULT_GIT_TIMEOUT_SECONDS = 300;
/** A full SHA-1 or SHA-256 object name, as git and GitHub write them. */
export const GIT_SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Output kept from a command for its error message. */
const OUTPUT_LIMIT_BYTES = 64 * 1024;
const TAIL_LINES = 20;
const KILL_GRACE_MS = 5_000;
/** The top-level names of an artifact folder, NUL-separated, as its listing prints them. */
const LISTING_LIMIT_BYTES = 16 * 1024 * 1024;
/** How long endLeftovers keeps ending the processes a build left before it gives up. */
const LEFTOVER_PASSES = 200;
const LEFTOVER_PAUSE_MS = 25;

/** Set in build_cmd's environment to an id of that build: see endLeftovers. */
export const buildIdVariable = 'RELGUARD_BUILD_ID';
/** git failures that a later attempt may not meet: the network, not the repository. */
const TRANSIENT_GIT_FAILURE =
  /could not resolve host|temporary failure in name resolution|couldn't connect to server|connection refused|connection timed out|operation timed out|connection reset|early eof|returned error: 5\d\d|http 5\d\d/i;

/**
 * The store key of a package: `<app>/<sha256>/<app>-<version>.tar.gz`. Content-addressed: two
 * archives of one version never share a key, so no build or upload can overwrite another's
 * bytes, and a retried build's upload never meets its earlier attempt's.
 */
export function packageKey(appName: string, version: string, sha256: string): string {
  checkPackageNames(appName, version);
  if (!/^[a-f0-9]{64}$/.test(sha256)) {
    throw new RelguardError(
      FailureType.BadPackage,
      `${JSON.stringify(sha256)} is not a SHA-256 digest (64 lower-case hex digits)`,
      { sha256 },
    );
  }
  return `${appName}/${sha256}/${packageFileName(appName, version)}`;
}

/** Clones `repo` at the tag, builds it when asked to and packs the result as a .tar.gz. */
export async function buildPackage(
  request: BuildRequest,
  options: BuildOptions = {},
): Promise<BuiltPackage> {
  const { appName, version, repo } = request;
  const { signal, onProgress } = options;
  checkPackageNames(appName, version);
  const expectedSha = checkExpectedSha(request.expectedSha);
  signal?.throwIfAborted();
  const workDir = path.resolve(request.workDir);
  const sourceDir = path.join(workDir, 'src');
  const filePath = path.join(workDir, packageFileName(appName, version));
  // A retried build starts over in the same folder.
  await rm(sourceDir, { recursive: true, force: true });
  await rm(filePath, { force: true });
  await mkdir(workDir, { recursive: true });

  onProgress?.('clone');
  const tag = await checkoutTag(request, sourceDir, {
    signal,
    timeoutMs: options.gitTimeoutMs ?? DEFAULT_GIT_TIMEOUT_SECONDS * 1000,
    expectedSha,
  });

  if (request.buildCmd !== undefined) {
    onProgress?.('build');
    await runBuildCommand(request.buildCmd, request, sourceDir, signal, options.commands ?? {});
  }

  onProgress?.('package');
  if (request.buildCmd === undefined && request.artifactPath === undefined) {
    // git archive packs exactly the files of the tag's commit, never .git or untracked files.
    await git(['archive', '--format=tar.gz', '-o', filePath, tag.commitSha], {
      cwd: sourceDir,
      signal,
      what: `git archive of ${redact(repo)} at tag ${version}`,
    });
  } else {
    await packFolder(sourceDir, request.artifactPath, filePath, signal, options.commands ?? {});
  }

  onProgress?.('checksum');
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(filePath, signal === undefined ? {} : { signal })) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { filePath, md5: md5.digest('hex'), sha256: sha256.digest('hex'), size, ...tag };
}

/** Refuses an application name or version that cannot name a package (a key, a file, a URL). */
export function checkPackageNames(appName: string, version: string): void {
  if (!slug.safeParse(appName).success) {
    throw new RelguardError(
      FailureType.BadConfig,
      `application name ${JSON.stringify(appName)} cannot name a package: it must be 1-63 lower-case letters, digits or dashes`,
      { appName },
    );
  }
  const problem = versionProblem(version);
  if (problem !== undefined) {
    throw new RelguardError(
      FailureType.BadConfig,
      `version ${JSON.stringify(version)} cannot name a package: a version ${problem}`,
      { version },
    );
  }
}

function packageFileName(appName: string, version: string): string {
  return `${appName}-${version}.tar.gz`;
}

function checkExpectedSha(expectedSha: string | undefined): string | undefined {
  if (expectedSha === undefined) return undefined;
  const sha = expectedSha.trim().toLowerCase();
  if (!GIT_SHA_PATTERN.test(sha)) {
    throw new RelguardError(
      FailureType.BadConfig,
      `expected SHA ${JSON.stringify(expectedSha)} is not a full git object name (40 or 64 hex digits)`,
      { expectedSha },
    );
  }
  return sha;
}

/**
 * Fetches `refs/tags/<version>` alone into an empty repository and checks out its commit.
 * `git clone --branch` would take a branch of the same name over the tag, so that anyone who
 * can push a branch could ship it; a full refname in the refspec can only mean the tag.
 */
async function checkoutTag(
  request: BuildRequest,
  sourceDir: string,
  options: { signal: AbortSignal | undefined; timeoutMs: number; expectedSha: string | undefined },
): Promise<{ commitSha: string; tagSha: string }> {
  const { repo, version } = request;
  const { signal, expectedSha } = options;
  const tagRef = `refs/tags/${version}`;
  const gitDir = path.join(sourceDir, '.git');
  const what = `git clone of ${redact(repo)} at tag ${version}`;
  await git(['init', '--quiet', sourceDir], { cwd: process.cwd(), signal, what });

  const fetch = [
    '--git-dir',
    gitDir,
    // ext:: runs commands of the URL's choosing; git refuses it by default, keep it so.
    '-c',
    'protocol.ext.allow=never',
    'fetch',
    '--quiet',
    '--no-tags',
    '--no-recurse-submodules',
    '--depth',
    '1',
    '--',
    repo,
    `+${tagRef}:${tagRef}`,
  ];
  // From the worker's own folder: a relative repository path means what it says there.
  const fetched = await gitRun(fetch, {
    cwd: process.cwd(),
    signal,
    what,
    timeoutMs: options.timeoutMs,
  });
  if (fetched.code !== 0 && /couldn't find remote ref/i.test(fetched.output)) {
    throw new RelguardError(
      FailureType.BadConfig,
      `${what} failed: tag ${version} not found in ${redact(repo)} (it has no ${tagRef}; a branch of that name is never built)`,
      { repo: redact(repo), version, command: commandText(fetch) },
    );
  }
  if (fetched.code !== 0) throw gitFailure(fetch, fetched, what);

  const inRepo = { cwd: sourceDir, signal, what };
  const tagSha = (await git(['rev-parse', '--verify', '--end-of-options', tagRef], inRepo)).trim();
  const peeled = await gitRun(
    ['rev-parse', '--verify', '--quiet', '--end-of-options', `${tagRef}^{commit}`],
    inRepo,
  );
  const commitSha = peeled.stdout.trim();
  if (peeled.code !== 0 || !GIT_SHA_PATTERN.test(commitSha)) {
    throw new RelguardError(
      FailureType.BadConfig,
      `tag ${version} of ${redact(repo)} points to no commit (object ${tagSha}): nothing to build`,
      { repo: redact(repo), version, tagSha },
    );
  }
  if (expectedSha !== undefined && expectedSha !== commitSha && expectedSha !== tagSha) {
    const object = tagSha === commitSha ? '' : ` (tag object ${tagSha})`;
    throw new RelguardError(
      FailureType.BadConfig,
      `tag ${version} of ${redact(repo)} is at commit ${commitSha}${object}, not at ${expectedSha} as announced: the tag moved after it was pushed; nothing was built`,
      { repo: redact(repo), version, expectedSha, commitSha, tagSha },
    );
  }
  await git(
    ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commitSha],
    inRepo,
  );
  return { commitSha, tagSha };
}

interface GitOptions {
  cwd: string;
  signal: AbortSignal | undefined;
  what: string;
  /** For a command that talks to the remote: it is stopped after this long. */
  timeoutMs?: number;
}

/** Runs git and returns its standard output; a failure is an error that says what failed. */
async function git(args: string[], options: GitOptions): Promise<string> {
  const result = await gitRun(args, options);
  if (result.code !== 0) throw gitFailure(args, result, options.what);
  return result.stdout;
}

/** Runs git, whatever its exit code; only a missing git or a timeout throws. */
async function gitRun(args: string[], options: GitOptions): Promise<RunResult> {
  const env = inheritedEnv();
  // Without a terminal a credential prompt would wait for ever: fail instead.
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_SSH_COMMAND ??= 'ssh -o BatchMode=yes';
  const { timeoutMs } = options;
  // A remote that accepts the connection and never answers would hold the build for ever.
  const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const signals = [options.signal, timeout].filter((signal) => signal !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  try {
    return await run('git', args, { cwd: options.cwd, env, signal });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new RelguardError(FailureType.BadConfig, 'git is not installed on the worker');
    }
    if (timeout?.aborted === true && options.signal?.aborted !== true) {
      const seconds = (timeoutMs ?? 0) / 1000;
      throw new RelguardError(
        FailureType.Unavailable,
        `${options.what} timed out after ${seconds} s (GIT_TIMEOUT_SECONDS): \`${commandText(args)}\` was stopped before the remote finished`,
        { command: commandText(args), timeoutSeconds: seconds },
      );
    }
    throw error;
  }
}

function gitFailure(args: string[], result: RunResult, what: string): RelguardError {
  const output = redact(result.output);
  const type = TRANSIENT_GIT_FAILURE.test(output) ? FailureType.Unavailable : FailureType.BadConfig;
  return new RelguardError(type, `${what} failed (${exitText(result)}):\n${tail(output)}`, {
    command: commandText(args),
    exitCode: result.code,
    output: tail(output),
  });
}

/** A git command as a message shows it: credentials of a URL in it are hidden. */
function commandText(args: string[]): string {
  return `git ${args.map(redact).join(' ')}`;
}

/**
 * Runs the build command in the clone, as the command user when there is one (the clone is
 * given to that user first), with only the allow-listed environment: the repository's code
 * never sees relguard's database URI, tokens or keys.
 */
async function runBuildCommand(
  buildCmd: string,
  request: BuildRequest,
  sourceDir: string,
  signal: AbortSignal | undefined,
  commands: CommandSettings,
): Promise<void> {
  const buildId = randomUUID();
  const env = commandEnv(commands, {
    RELGUARD_APP: request.appName,
    RELGUARD_VERSION: request.version,
    [buildIdVariable]: buildId,
  });
  await giveToCommandUser(sourceDir, commands);
  let result: RunResult;
  let sessionId: number | undefined;
  try {
    result = await run(buildCmd, [], {
      cwd: sourceDir,
      env,
      signal,
      shell: true,
      ...commandIdentity(commands),
      onSpawn: (pid) => (sessionId = pid),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new RelguardError(
      FailureType.BadConfig,
      `build command \`${buildCmd}\` of ${request.appName} ${request.version} could not start as ${describeUser(commands)}: ${(error as Error).message}`,
      { command: buildCmd },
    );
  } finally {
    // Before anything reads what the build made, and whether it succeeded or not.
    await endLeftovers({ buildId, sessionId, sourceDir, commands, buildCmd });
  }
  if (result.code === 0) return;
  throw new RelguardError(
    FailureType.BadConfig,
    `build command \`${buildCmd}\` of ${request.appName} ${request.version} failed (${exitText(result)}):\n${tail(result.output)}`,
    { command: buildCmd, exitCode: result.code, output: tail(result.output) },
  );
}

/**
 * Packs the artifact (the whole clone by default) with paths relative to its folder.
 *
 * The folder belongs to the command user (RELGUARD_RUN_AS), and a process of that user (one
 * the build left behind, or an application of the same user) may swap any part of it for a
 * symbolic link between a check made here and the read. So the listing and tar run as that
 * user, from inside the clone, with relative paths: the kernel lets them read only what that
 * user could read anyway, never the worker's files (its token file, ~/.ssh). tar writes to a
 * file the worker opened in its own folder. resolveArtifact's check stays for the refusal of
 * a misconfigured artifact_path; it is not what keeps the worker's files out.
 */
async function packFolder(
  sourceDir: string,
  artifactPath: string | undefined,
  filePath: string,
  signal: AbortSignal | undefined,
  commands: CommandSettings,
): Promise<void> {
  const shown = JSON.stringify(artifactPath ?? '.');
  const artifact = await resolveArtifact(sourceDir, artifactPath ?? '.');
  const relative = path.relative(artifact.cloneRoot, artifact.path) || '.';
  const folder = artifact.isFile ? path.dirname(relative) : relative;
  const asUser = {
    // The worker enters the clone (its parent is the worker's): the command user needs no
    // way in from /, and everything below is looked up by that user.
    cwd: sourceDir,
    env: commandEnv(commands, {}),
    signal,
    ...commandIdentity(commands),
  };
  let entries: string[];
  if (artifact.isFile) {
    entries = [path.basename(relative)];
  } else {
    const listing = await run(
      'sh',
      [
        '-c',
        'cd -P -- "$1" && exec find . -mindepth 1 -maxdepth 1 -printf \'%P\\0\'',
        'sh',
        folder,
      ],
      { ...asUser, stdoutLimit: LISTING_LIMIT_BYTES },
    );
    if (listing.code !== 0 || listing.stdoutTruncated) {
      throw new RelguardError(
        FailureType.BadPackage,
        `listing artifact path ${shown} as ${describeUser(commands)} failed (${listing.stdoutTruncated ? 'too many entries' : exitText(listing)}):\n${tail(listing.output)}`,
        { artifactPath, output: tail(listing.output) },
      );
    }
    const isCloneRoot = folder === '.';
    entries = listing.stdout
      .split('\0')
      .filter((name) => name !== '' && !(isCloneRoot && name === '.git'))
      .sort();
  }
  if (entries.length === 0) {
    throw new RelguardError(
      FailureType.BadConfig,
      `artifact path ${shown} is an empty folder after the build`,
      { artifactPath },
    );
  }
  // The worker's own file, in its own folder: never one the command user put there.
  const archive = await open(
    filePath,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  let result: RunResult;
  try {
    result = await run(
      'sh',
      ['-c', 'cd -P -- "$1" && shift && exec tar -czf - -- "$@"', 'sh', folder, ...entries],
      { ...asUser, stdoutFd: archive.fd },
    );
  } finally {
    await archive.close();
  }
  if (result.code !== 0) {
    throw new RelguardError(
      FailureType.BadPackage,
      `packing ${shown} as ${describeUser(commands)} failed (${exitText(result)}):\n${tail(result.output)}`,
      { artifactPath, output: tail(result.output) },
    );
  }
}

async function resolveArtifact(
  sourceDir: string,
  artifactPath: string,
): Promise<{ path: string; cloneRoot: string; isFile: boolean }> {
  const escapes = new RelguardError(
    FailureType.BadConfig,
    `artifact path ${JSON.stringify(artifactPath)} must be a folder or file inside the repository`,
    { artifactPath },
  );
  if (
    path.isAbsolute(artifactPath) ||
    !isInside(sourceDir, path.resolve(sourceDir, artifactPath))
  ) {
    throw escapes;
  }
  const cloneRoot = await realpath(sourceDir);
  let resolved: string;
  try {
    resolved = await realpath(path.resolve(sourceDir, artifactPath));
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    throw new RelguardError(
      FailureType.BadConfig,
      `artifact path ${JSON.stringify(artifactPath)} does not exist after the build`,
      { artifactPath },
    );
  }
  // A symbolic link in the repository may point anywhere: judge where it leads.
  if (!isInside(cloneRoot, resolved)) throw escapes;
  const info = await stat(resolved);
  if (!info.isFile() && !info.isDirectory()) throw escapes;
  return { path: resolved, cloneRoot, isFile: info.isFile() };
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return (
    relative === '' ||
    (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative))
  );
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of stdout and stderr together, at most OUTPUT_LIMIT_BYTES. */
  output: string;
  /** The end of stdout alone, at most OUTPUT_LIMIT_BYTES (or the run's stdoutLimit). */
  stdout: string;
  /** Whether stdout was longer than that and its beginning dropped. */
  stdoutTruncated: boolean;
}

/**
 * Runs a command in a process group of its own, so that an abort ends everything it
 * started (a build command's shell starts children of its own).
 */
async function run(
  command: string,
  args: string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    signal: AbortSignal | undefined;
    shell?: boolean;
    /** Runs the command as this user and group (RELGUARD_RUN_AS). */
    uid?: number;
    gid?: number;
    /** Where stdout goes (an open file); kept in the result when unset. */
    stdoutFd?: number;
    /** How much of stdout the result keeps; OUTPUT_LIMIT_BYTES by default. */
    stdoutLimit?: number;
    /** Told the pid of the command: it leads a session and a process group of its own. */
    onSpawn?: (pid: number) => void;
  },
): Promise<RunResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    shell: options.shell ?? false,
    detached: true,
    stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  const output = new OutputTail(OUTPUT_LIMIT_BYTES);
  const stdout = new OutputTail(options.stdoutLimit ?? OUTPUT_LIMIT_BYTES);
  child.stdout?.on('data', (chunk: Buffer) => {
    output.push(chunk);
    stdout.push(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));

  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (killSignal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, killSignal);
    } catch {
      // The group is gone already.
    }
  };
  const onAbort = (): void => {
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [code, exitSignal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (exitCode, closeSignal) => resolve([exitCode, closeSignal]));
      },
    );
    // What the command left running in its group (a daemon a build forked) ends with it,
    // before anything reads what it made.
    killGroup('SIGKILL');
    signal?.throwIfAborted();
    return {
      code,
      signal: exitSignal,
      output: output.text(),
      stdout: stdout.text(),
      stdoutTruncated: stdout.truncated,
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
}

/**
 * Ends every process the build left behind, before anything reads what the build made (and
 * after a failed or cancelled build too). run() kills the build's process group already; a
 * child that called setsid or setpgid left it, and would keep running as the command user,
 * free to change the folder while it is packed or to linger for ever. Here every process on
 * the host is judged as root: it is the build's when it is in the build's session or process
 * group (its shell's pid), when its environment holds RELGUARD_BUILD_ID=<this build>, or when it
 * runs as the build's user with its working folder in the clone. Matches are stopped, then
 * killed, and the host scanned again until a scan finds none.
 *
 * Why not `pkill -u <RELGUARD_RUN_AS user>`: start_cmd and stop_cmd run as the same user, so
 * that would kill the applications the local platform runs, and every other build.
 *
 * A process set on escaping can still do it (setsid, cd /, then exec with another
 * environment). The pack does not rely on this sweep: it runs as the command user, who can
 * only pack what it could read anyway. Give RELGUARD_RUN_AS a user of its own.
 */
async function endLeftovers(build: {
  buildId: string;
  sessionId: number | undefined;
  sourceDir: string;
  commands: CommandSettings;
  buildCmd: string;
}): Promise<void> {
  const marker = `${buildIdVariable}=${build.buildId}`;
  const uid = build.commands.user?.uid ?? process.getuid?.();
  const clone = await realpath(build.sourceDir).catch(() => build.sourceDir);
  const isBuilds = async (pid: number): Promise<boolean> => {
    if (pid === process.pid) return false;
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return false;
    }
    // The command name (field 2) may hold spaces and parentheses; fields after it do not.
    const [state, , pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || state === 'X') return false;
    const id = build.sessionId;
    if (id !== undefined && (Number(session) === id || Number(pgrp) === id)) return true;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(marker)) return true;
    const owner = await processUid(pid);
    if (owner === undefined || owner !== uid) return false;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    return cwd !== undefined && isInside(clone, cwd);
  };
  let left: number[] = [];
  for (let pass = 0; pass < LEFTOVER_PASSES; pass += 1) {
    left = [];
    const pids = (await readdir('/proc')).filter((name) => /^[0-9]+$/.test(name)).map(Number);
    for (const pid of pids) if (await isBuilds(pid)) left.push(pid);
    if (left.length === 0) return;
    // Stopped first, so that none of them forks again while the others are killed.
    for (const pid of left) signalProcess(pid, 'SIGSTOP');
    for (const pid of left) signalProcess(pid, 'SIGKILL');
    await delay(LEFTOVER_PAUSE_MS);
  }
  throw new RelguardError(
    FailureType.BadConfig,
    `build command \`${build.buildCmd}\` left processes that would not end (pids ${left.join(', ')}): nothing was packed`,
    { command: build.buildCmd, pids: left },
  );
}

/** The real uid of a process, from /proc/<pid>/status. */
async function processUid(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^Uid:\s+([0-9]+)/m.exec(status);
  return match === null ? undefined : Number(match[1]);
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already, or not ours to signal (the next scan tells).
  }
}

/** The last `limit` bytes written to it. */
class OutputTail {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Whether more than `limit` bytes were written. */
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > this.limit) this.truncated = true;
    while (this.length > this.limit && this.chunks.length > 1) {
      const dropped = this.chunks.shift();
      this.length -= dropped?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

function tail(output: string): string {
  const lines = output.trimEnd().split('\n');
  const last = lines.slice(-TAIL_LINES).join('\n');
  return last === '' ? '(no output)' : last;
}

function exitText(result: RunResult): string {
  return result.code === null
    ? `killed by ${result.signal ?? 'a signal'}`
    : `exit code ${result.code}`;
}

/** Credentials in a repository URL stay out of messages and logs. */
function redact(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

/**
 * The worker's environment (PATH, proxies, SSH agent) without relguard's own settings:
 * a build command of an application has no business with relguard's database or keys.
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of configVariables) delete env[name];
  return env;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
