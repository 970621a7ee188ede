import { spawnSync, type SpawnOptions } from 'node:child_process';
import { lchown, lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../domain/config';
import { FailureType, RelguardError } from '../../domain/errors';

/**
 * How relguard runs the commands of an application (build_cmd, start_cmd, stop_cmd): with an
 * environment made here from an allow-list, never the worker's own (which holds relguard's
 * database URI, api and cloud keys), and, with RELGUARD_RUN_AS, as another user, who cannot
 * read the worker's files or /proc/<worker>/environ either. Every spawn of such a command
 * goes through commandEnv and commandIdentity.
 */

/** The user application commands run as (RELGUARD_RUN_AS), resolved once at start-up. */
export interface CommandUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface CommandSettings {
  /** Who the commands run as; the worker's own user when undefined. */
  user?: CommandUser | undefined;
  /** More names passed from the worker's environment (RELGUARD_COMMAND_ENV), e.g. proxies. */
  passEnv?: readonly string[] | undefined;
}

/** Passed from the worker's environment when set: what a shell and its tools need, no more. */
export const basicVariables = ['PATH', 'LANG', 'LC_ALL', 'TZ'] as const;
const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The whole environment of an application command: PATH, LANG, LC_ALL and TZ from the worker's
 * environment, HOME, USER and LOGNAME of the user it runs as, the names listed in
 * RELGUARD_COMMAND_ENV, then `variables` (relguard's RELGUARD_* values, PORT, HOST).
 * Nothing else of the worker's environment reaches the command.
 */
export function commandEnv(
  settings: CommandSettings,
  variables: Record<string, string>,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = { PATH: defaultPath };
  for (const name of [...basicVariables, ...(settings.passEnv ?? [])]) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  const { user } = settings;
  if (user === undefined) {
    for (const name of ['HOME', 'USER', 'LOGNAME']) {
      const value = base[name];
      if (value !== undefined) env[name] = value;
    }
  } else {
    env.HOME = user.home;
    env.USER = user.name;
    env.LOGNAME = user.name;
  }
  return { ...env, ...variables };
}

/** The spawn options that make the command run as the configured user (none without one). */
export function commandIdentity(settings: CommandSettings): Pick<SpawnOptions, 'uid' | 'gid'> {
  const { user } = settings;
  return user === undefined ? {} : { uid: user.uid, gid: user.gid };
}

/** Who a command runs as, for messages. */
export function describeUser(settings: CommandSettings): string {
  const { user } = settings;
  return user === undefined ? "the worker's user" : `user ${user.name} (RELGUARD_RUN_AS)`;
}

/**
 * Gives a folder made by the worker (a build's checkout, a release) to the command user, so
 * that its commands can write there; nothing happens without a command user.
 */
export async function giveToCommandUser(dir: string, settings: CommandSettings): Promise<void> {
  const { user } = settings;
  if (user === undefined) return;
  const entries = [dir, ...(await readdir(dir, { recursive: true })).map((e) => path.join(dir, e))];
  // A hard link shares its owner with every other name of the file: a file linked from
  // outside the folder (another repository's object, a system file) must not change hands.
  const linked = new Map<number, { names: number; links: number; name: string }>();
  for (const entry of entries) {
    const info = await lstat(entry);
    if (!info.isFile() || info.nlink < 2) continue;
    const seen = linked.get(info.ino) ?? { names: 0, links: info.nlink, name: entry };
    seen.names += 1;
    linked.set(info.ino, seen);
  }
  for (const { names, links, name } of linked.values()) {
    if (names < links) {
      throw new RelguardError(
        FailureType.BadPackage,
        `${name} is a hard link to a file outside ${dir}: refusing to give it to user ${user.name} (RELGUARD_RUN_AS)`,
        { path: name },
      );
    }
  }
  for (const entry of entries) await lchown(entry, user.uid, user.gid);
}

function errnoOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.message;
}

const runAsProblem = (message: string): ConfigError =>
  new ConfigError([{ variable: 'RELGUARD_RUN_AS', message }]);

/** One line of `getent passwd`: name:password:uid:gid:gecos:home:shell. */
function parsePasswd(line: string): CommandUser | undefined {
  const [name, , uid, gid, , home] = line.trim().split(':');
  if (name === undefined || uid === undefined || gid === undefined || home === undefined) {
    return undefined;
  }
  if (!/^[0-9]+$/.test(uid) || !/^[0-9]+$/.test(gid)) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home };
}

/**
 * The user of RELGUARD_RUN_AS (a name or a numeric uid), checked at the worker's start: the
 * user must exist and the worker must be able to run a process as that user (it runs as root,
 * or with CAP_SETUID and CAP_SETGID). Throws a ConfigError that names RELGUARD_RUN_AS.
 */
export function resolveCommandUser(spec: string | undefined): CommandUser | undefined {
  if (spec === undefined || spec === '') return undefined;
  const lookup = spawnSync('getent', ['passwd', spec], { encoding: 'utf8', env: {} });
  if (lookup.error !== undefined) {
    throw runAsProblem(
      `cannot look up user ${JSON.stringify(spec)}: getent failed (${lookup.error.message})`,
    );
  }
  const user = lookup.status === 0 ? parsePasswd(lookup.stdout.split('\n')[0] ?? '') : undefined;
  if (user === undefined) {
    throw runAsProblem(`no user ${JSON.stringify(spec)} on this host (getent passwd ${spec})`);
  }
  const self = process.getuid?.();
  if (self === user.uid) return user;
  // Asks the kernel rather than guessing from the uid: capabilities count too.
  const probe = spawnSync('/bin/sh', ['-c', 'exit 0'], {
    uid: user.uid,
    gid: user.gid,
    env: {},
    cwd: '/',
  });
  if (probe.error !== undefined || probe.status !== 0) {
    const code = probe.error === undefined ? `exit ${probe.status}` : errnoOf(probe.error);
    throw runAsProblem(
      `the worker runs as uid ${self ?? 'unknown'} and cannot run commands as user ${user.name} (uid ${user.uid}): ${code}. ` +
        'Run the worker as root (or with CAP_SETUID and CAP_SETGID), or unset RELGUARD_RUN_AS',
    );
  }
  return user;
}

/** The command settings of the configuration: RELGUARD_RUN_AS resolved, RELGUARD_COMMAND_ENV. */
export function commandSettings(config: {
  RELGUARD_RUN_AS?: string | undefined;
  RELGUARD_COMMAND_ENV: readonly string[];
}): CommandSettings {
  const user = resolveCommandUser(config.RELGUARD_RUN_AS);
  return { ...(user === undefined ? {} : { user }), passEnv: config.RELGUARD_COMMAND_ENV };
}
