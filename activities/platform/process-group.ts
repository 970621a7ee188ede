import { spawn } from 'node:child_process';
import { open, readFile, readdir } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Processes of the local platform. start_cmd runs detached in a session of its own, so that it
 * outlives the worker and everything it forks shares one process group: stopping the group
 * stops the application however many processes its shell started.
 */

/** The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, … */
async function statFields(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after it do not.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
export async function processStartTicks(pid: number): Promise<string | undefined> {
  return (await statFields(pid))?.[19];
}

function signalProbe(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a process of the group still runs. Zombies do not count: once the worker that
 * started the group is gone its processes belong to PID 1, and a container's PID 1 often
 * never reaps them, so a stopped group would look alive forever to kill(-pgid, 0).
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  if (!signalProbe(pgid)) return false;
  // The leader itself running in its group answers at once; the scan of every process on the
  // host (thousands on a host of many machines) is for a group whose leader is gone or a zombie.
  const leader = await statFields(pgid);
  if (leader !== undefined && leader[2] === String(pgid) && leader[0] !== 'Z') return true;
  const pids = await processIds();
  if (pids === undefined) return true;
  for (const pid of pids) {
    const fields = await statFields(pid);
    if (fields !== undefined && fields[2] === String(pgid) && fields[0] !== 'Z') return true;
  }
  return false;
}

/** Every pid on this host (from /proc), or undefined when /proc cannot be read. */
async function processIds(): Promise<number[] | undefined> {
  try {
    return (await readdir('/proc')).filter((name) => /^[0-9]+$/.test(name)).map(Number);
  } catch {
    return undefined;
  }
}

/**
 * Whether the process group relguard started still runs. A leader whose start time differs is
 * another process that got the pid after a reboot; a group whose leader is gone still holds
 * the pid, so the kernel cannot have reused it.
 */
export async function ownGroupAlive(pid: number, pidStart: string | undefined): Promise<boolean> {
  if (!(await groupAlive(pid))) return false;
  if (pidStart === undefined) return true;
  const ticks = await processStartTicks(pid);
  return ticks === undefined || ticks === pidStart;
}

async function waitGone(pgid: number, timeoutMs: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await delay(pollMs);
  }
  return true;
}

/** SIGTERM to the group, SIGKILL after `graceMs`; returns how it ended. */
export async function stopGroup(
  pid: number,
  pidStart: string | undefined,
  options: { graceMs: number; pollMs?: number },
): Promise<'not-running' | 'terminated' | 'killed'> {
  const pollMs = options.pollMs ?? 100;
  if (!(await ownGroupAlive(pid, pidStart))) return 'not-running';
  signalGroup(pid, 'SIGTERM');
  if (await waitGone(pid, options.graceMs, pollMs)) return 'terminated';
  signalGroup(pid, 'SIGKILL');
  await waitGone(pid, 5000, pollMs);
  return 'killed';
}

/**
 * The process group of a live process whose environment holds `entry` ("NAME=value"): how a
 * process whose starter died before recording it is found again. Scans every process on the
 * host, so it is for that recovery only.
 */
export async function findGroupByEnvironment(entry: string): Promise<number | undefined> {
  for (const pid of (await processIds()) ?? []) {
    let environment: string;
    try {
      environment = await readFile(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (!environment.split('\0').includes(entry)) continue;
    const fields = await statFields(pid);
    if (fields !== undefined && fields[0] !== 'Z') return Number(fields[2]);
  }
  return undefined;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export interface CommandOptions {
  cwd: string;
  /** The command's whole environment (see command-env.ts); nothing of the worker's is added. */
  env: Record<string, string>;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Runs the command as this user and group (RELGUARD_RUN_AS); the worker's own without. */
  uid?: number;
  gid?: number;
}

/** A shell running `command` as the options say, leader of a new session and process group. */
function spawnShell(command: string, options: CommandOptions, logFd: number) {
  return spawn(command, {
    shell: true,
    detached: true,
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', logFd, logFd],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
}

/** Starts `command` in a shell, detached, its output appended to the log; returns its group. */
export async function startDetached(
  command: string,
  options: CommandOptions,
): Promise<{ pid: number; pidStart: string | undefined }> {
  const log = await open(options.logFile, 'a');
  try {
    const child = spawnShell(command, options, log.fd);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    const pid = child.pid!;
    return { pid, pidStart: await processStartTicks(pid) };
  } finally {
    await log.close();
  }
}

/**
 * Runs `command` in a shell to its end (stop_cmd); after `timeoutMs` its whole group is
 * killed. Returns the exit code, or the signal that ended it.
 */
export async function runToEnd(
  command: string,
  options: CommandOptions & { timeoutMs: number },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
  const log = await open(options.logFile, 'a');
  try {
    const child = spawnShell(command, options, log.fd);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs);
    try {
      return await new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve({ code, signal, timedOut }));
      });
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await log.close();
  }
}
