import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '../../activities/logger';
import { createMockServer, type MockServer, type MockServerOptions } from '../../mockserver/server';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const tsxLoader = pathToFileURL(path.join(projectRoot, 'node_modules/tsx/dist/loader.mjs')).href;
const mainEntry = path.join(projectRoot, 'mockserver/main.ts');

/** The real server in this process, on a free loopback port, quiet, without baseline latency. */
export function startServer(options: MockServerOptions = {}): Promise<MockServer> {
  return createMockServer({
    port: 0,
    host: '127.0.0.1',
    baselineLatency: false,
    logger: createLogger('mockserver-test', 'silent'),
    // A crash fault must fail the test, not end the test runner's process.
    exit: (code) => {
      throw new Error(`crash fault asked to exit with code ${code}`);
    },
    ...options,
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpResult {
  status: number;
  body: string;
  ms: number;
}

export interface HttpOptions {
  method?: string;
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One request; rejects with the socket error's code (ECONNRESET, ...) when there is no answer. */
export function call(url: string, options: HttpOptions = {}): Promise<HttpResult> {
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const outgoing = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        agent,
        signal: options.signal,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
      },
    );
    outgoing.setTimeout(options.timeoutMs ?? 10_000, () =>
      outgoing.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })),
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** The parsed body, with the HTTP status beside it as `httpStatus`. */
export async function callJson<T>(
  url: string,
  options: HttpOptions = {},
): Promise<T & { httpStatus: number }> {
  const result = await call(url, options);
  return { ...(JSON.parse(result.body) as T), httpStatus: result.status };
}

/** The error code a failed call rejected with, or "answered <status>". */
export async function failureOf(promise: Promise<HttpResult>): Promise<string> {
  try {
    const result = await promise;
    return `answered ${result.status}`;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/** Runs `count` calls of `task`, `concurrency` at a time, in order of index. */
export async function many<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const index = next;
      next += 1;
      results[index] = await task(index);
    }
  });
  await Promise.all(workers);
  return results;
}

export async function pollUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 5_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** The value of one series in a Prometheus text exposition, matched on all `labels`. */
export function metricValue(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) =>
      line.includes(`${key}="${value}"`),
    );
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

// /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after the ")" of the
// command name (which may itself hold spaces).
const clockTicksPerSecond = 100;

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** Share of one core the process used over `ms`, in percent. */
export async function cpuPercent(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  const started = performance.now();
  await sleep(ms);
  const elapsedSeconds = (performance.now() - started) / 1000;
  return ((cpuSeconds(pid) - before) / elapsedSeconds) * 100;
}

/**
 * CPU time of each live thread of `pid`, in ms, by thread id, from /proc/<pid>/task/<tid>/schedstat
 * (ns, exact, unlike the 10 ms ticks of /proc/<pid>/stat). A thread that exits between the
 * listing and the read is left out.
 */
export function threadCpuMs(pid: number): Map<number, number> {
  const byThread = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const schedstat = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1');
      byThread.set(Number(tid), Number(schedstat.split(' ')[0]) / 1e6);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return byThread;
}

/** Threads of `pid` that used at least `minPercent` of a core over `ms`, with their share. */
export async function busyThreads(
  pid: number,
  ms: number,
  minPercent: number,
): Promise<Map<number, number>> {
  const before = threadCpuMs(pid);
  const started = performance.now();
  await sleep(ms);
  const elapsedMs = performance.now() - started;
  const busy = new Map<number, number>();
  for (const [tid, cpuMs] of threadCpuMs(pid)) {
    const percent = ((cpuMs - (before.get(tid) ?? cpuMs)) / elapsedMs) * 100;
    if (percent >= minPercent) busy.set(tid, percent);
  }
  return busy;
}

/** When an effect was last seen and first seen gone after that, as Date.now() times. */
export interface EffectEnd {
  lastOnAt: number;
  firstOffAt: number;
  samples: number;
}

/**
 * Samples `isOn` every `intervalMs` until `untilMs` (a Date.now() time) and returns the last
 * sample that saw the effect and the sample after it, so the effect's end lies between them.
 * Throws when the effect was never seen, or still seen at `untilMs`.
 */
export async function watchEffectEnd(
  isOn: () => boolean,
  untilMs: number,
  intervalMs = 20,
): Promise<EffectEnd> {
  let lastOnAt: number | undefined;
  let firstOffAt: number | undefined;
  let samples = 0;
  for (;;) {
    const at = Date.now();
    samples += 1;
    if (isOn()) {
      lastOnAt = at;
      firstOffAt = undefined;
    } else if (lastOnAt !== undefined && firstOffAt === undefined) {
      firstOffAt = at;
    }
    if (at >= untilMs) break;
    await sleep(intervalMs);
  }
  if (lastOnAt === undefined) throw new Error('the effect was never seen');
  if (firstOffAt === undefined) throw new Error('the effect was still on at the end of watching');
  return { lastOnAt, firstOffAt, samples };
}

export interface TimedResult<T> {
  sentAt: number;
  receivedAt: number;
  result: T;
}

/**
 * An open loop: starts `task` every `intervalMs` until `untilMs` (Date.now() times) without
 * waiting for earlier ones, so the send times stay evenly spread however slow the answers are.
 */
export async function openLoop<T>(
  intervalMs: number,
  untilMs: number,
  task: () => Promise<T>,
): Promise<TimedResult<T>[]> {
  const pending: Promise<TimedResult<T>>[] = [];
  const started = Date.now();
  for (let tick = 0; ; tick += 1) {
    const dueAt = started + tick * intervalMs;
    if (dueAt > untilMs) break;
    const waitMs = dueAt - Date.now();
    if (waitMs > 0) await sleep(waitMs);
    const sentAt = Date.now();
    pending.push(task().then((result) => ({ sentAt, receivedAt: Date.now(), result })));
  }
  return Promise.all(pending);
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) / 1024;
}

export interface ChildServer {
  url: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** A bundled main.js to run with plain node instead of the TypeScript source. */
  bundle?: string;
}

/**
 * The mockserver as its own process (what relguard deploys), so /proc shows its CPU and
 * memory alone. Resolves once it logs "mockserver listening".
 */
export function spawnMockServer(options: SpawnOptions = {}): Promise<ChildServer> {
  const entryArgs =
    options.bundle === undefined ? ['--import', tsxLoader, mainEntry] : [options.bundle];
  const child = spawn(process.execPath, [...entryArgs, ...(options.args ?? ['--port', '0'])], {
    cwd: options.cwd ?? projectRoot,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mockserver did not start within 20 s:\n${output}`));
    }, 20_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`mockserver exited with ${code} before listening:\n${output}`));
    });
    const onData = (): void => {
      const line = output.split('\n').find((text) => text.includes('"mockserver listening"'));
      if (line === undefined) return;
      child.stdout.off('data', onData);
      clearTimeout(timer);
      const { url } = JSON.parse(line) as { url: string };
      resolve({
        url,
        pid: child.pid ?? -1,
        child,
        output: () => output,
        exited,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    child.stdout.on('data', onData);
  });
}

/** Runs the mockserver expecting it to refuse to start; resolves with its exit code and output. */
export function runToExit(options: SpawnOptions): Promise<{ code: number | null; output: string }> {
  const entryArgs =
    options.bundle === undefined ? ['--import', tsxLoader, mainEntry] : [options.bundle];
  const child = spawn(process.execPath, [...entryArgs, ...(options.args ?? [])], {
    cwd: options.cwd ?? projectRoot,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    }),
  );
}
