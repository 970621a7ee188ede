import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { projectRoot } from '../support/tools';

const run = promisify(execFile);

/** temporal-dev.sh as a person runs it, on free ports and a state folder of the test's own. */
let home: string;
let env: NodeJS.ProcessEnv;
let ports: Record<string, number>;

async function stack(command: string, extraEnv: NodeJS.ProcessEnv = {}) {
  return await run(path.join(projectRoot, 'temporal-dev.sh'), [command], {
    env: { ...env, ...extraEnv },
    cwd: projectRoot,
    timeout: 170_000,
  });
}

/** The services of temporal-dev.sh, in its start order. */
const services = ['temporal', 'ferretdb', 'prometheus', 'alertmanager', 'worker', 'api'];

/**
 * Not the default 5s, so that the test sees the variable, not the default, reach Prometheus
 * (test/unit/stack-script.test.ts checks the default).
 */
const scrapeInterval = '7s';

/**
 * `./temporal-dev.sh logs ARGS`, which follows the logs and never ends by itself: runs it until
 * `done(stdout)` holds (or 20 s pass), then stops it as Ctrl-C would.
 */
async function followLogs(args: string[], done: (stdout: string) => boolean) {
  const child = spawn(path.join(projectRoot, 'temporal-dev.sh'), ['logs', ...args], {
    env,
    cwd: projectRoot,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 20_000;
  while (!done(stdout) && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const exitedByItself = child.exitCode !== null || child.signalCode !== null;
  child.kill('SIGINT');
  return { stdout, stderr, exitedByItself, ...(await ended) };
}

/** tail's output for several files: each file's chunks in the order printed, by service. */
function chunksByService(output: string): Map<string, string[]> {
  // tail writes `==> FILE <==` before each file's chunk, and a blank line between chunks.
  const parts = output.split(/\n?==> (.*) <==\n/);
  const chunks = new Map<string, string[]>();
  for (let index = 1; index + 1 < parts.length; index += 2) {
    const service = path.basename(parts[index] ?? '', '.log');
    chunks.set(service, [...(chunks.get(service) ?? []), parts[index + 1] ?? '']);
  }
  return chunks;
}

/** Whether the process, or any process of the group it leads, still runs. */
function alive(pid: number): boolean {
  for (const target of [pid, -pid]) {
    try {
      process.kill(target, 0);
      return true;
    } catch {
      // ESRCH: gone
    }
  }
  return false;
}

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'relguard-stack-'));
  ports = {
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    FERRETDB_PORT: await freePort(),
    PROMETHEUS_PORT: await freePort(),
    ALERTMANAGER_PORT: await freePort(),
    API_PORT: await freePort(),
  };
  env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
    RELGUARD_HOME: home,
    RELGUARD_TOOLS: path.join(projectRoot, '.relguard', 'tools'),
    RELGUARD_SCRAPE_INTERVAL: scrapeInterval,
    LOG_LEVEL: 'info',
  };
  delete env.MONGODB_URI;
});
afterAll(async () => {
  await stack('down').catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

describe('./temporal-dev.sh up, status, logs and down', () => {
  let pids: Record<string, number> = {};

  it('starts every service and waits until each answers', async () => {
    const up = await stack('up');
    const runDir = path.join(home, 'run');
    for (const file of await readdir(runDir)) {
      pids[file.replace(/\.pid$/, '')] = Number(await readFile(path.join(runDir, file), 'utf8'));
    }
    expect(Object.keys(pids).sort()).toEqual([...services].sort());

    const health = await fetch(`http://127.0.0.1:${ports.API_PORT}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', temporal: 'ok', mongo: 'ok' });
    expect((await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/-/ready`)).text()).toMatch(
      /Ready/,
    );
    expect((await fetch(`http://127.0.0.1:${ports.ALERTMANAGER_PORT}/-/ready`)).status).toBe(200);

    // RELGUARD_SCRAPE_INTERVAL: in the config up writes, and in the one Prometheus runs.
    expect(up.stdout).toMatch(`scrape interval ${scrapeInterval}`);
    const written = await readFile(path.join(home, 'prometheus', 'prometheus.yml'), 'utf8');
    expect(written).toMatch(new RegExp(`^  scrape_interval: ${scrapeInterval}$`, 'm'));
    const loaded = (await (
      await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/api/v1/status/config`)
    ).json()) as { data: { yaml: string } };
    expect(loaded.data.yaml).toMatch(new RegExp(`^  scrape_interval: ${scrapeInterval}$`, 'm'));

    const { stdout } = await stack('status');
    for (const name of Object.keys(pids)) {
      expect(stdout).toMatch(new RegExp(`${name}\\s+running\\s+pid ${pids[name]}`));
    }
  });

  it('makes a local admin token only its user can read, which the api takes', async () => {
    const file = path.join(home, 'token');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const token = (await readFile(file, 'utf8')).trim();
    const api = `http://127.0.0.1:${ports.API_PORT}/api/v1/applications`;
    expect((await fetch(api)).status).toBe(401);
    const listed = await fetch(api, { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(200);
  });

  it('is idempotent: a second up starts nothing new, and Prometheus takes its new config', async () => {
    const { stdout } = await stack('up', { RELGUARD_SCRAPE_INTERVAL: '9s' });
    expect(stdout).toMatch(/temporal already running/);
    expect(stdout).toMatch(/api already running/);
    expect(stdout).toMatch(/prometheus already running/);
    expect(await readFile(path.join(home, 'run', 'api.pid'), 'utf8')).toBe(`${pids.api}\n`);
    expect(stdout).toMatch(/keeping its token/);
    const loaded = (await (
      await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/api/v1/status/config`)
    ).json()) as { data: { yaml: string } };
    expect(loaded.data.yaml).toMatch(/^ {2}scrape_interval: 9s$/m);
  });

  it('logs prints the last lines of every service, each under its name, and follows them', async () => {
    const logFile = (service: string) => path.join(home, 'logs', `${service}.log`);
    const before = new Map<string, string>();
    for (const service of services) before.set(service, await readFile(logFile(service), 'utf8'));

    const all = await followLogs([], (stdout) => {
      const chunks = chunksByService(stdout);
      // Every header printed, and a line under each of the logs that had lines before.
      return services.every(
        (service) =>
          chunks.has(service) && (before.get(service) === '' || chunks.get(service)?.[0] !== ''),
      );
    });
    expect(all.exitedByItself).toBe(false);
    expect(all.signal).toBe('SIGINT');
    expect(all.stderr).toBe('');
    const chunks = chunksByService(all.stdout);
    expect([...chunks.keys()].sort()).toEqual([...services].sort());
    // Logs only grow: every chunk printed is a run of lines of its service's log as it is now.
    for (const service of services) {
      const now = await readFile(logFile(service), 'utf8');
      for (const chunk of chunks.get(service) ?? []) expect(now).toContain(chunk);
    }
    // Not vacuous: these four have logged by now (FerretDB and Temporal at warn may not have).
    for (const service of ['prometheus', 'alertmanager', 'worker', 'api']) {
      expect(before.get(service)).not.toBe('');
      expect(chunks.get(service)?.[0]).toMatch(/\S/);
    }

    // One service by name: its lines alone, without a header, its latest line included.
    const apiLog = before.get('api') ?? '';
    const lastApiLine = apiLog.trimEnd().split('\n').at(-1) ?? '';
    const api = await followLogs(['api'], (stdout) => stdout.includes(lastApiLine));
    expect(api.exitedByItself).toBe(false);
    expect(api.stderr).toBe('');
    expect(api.stdout).toContain(lastApiLine);
    expect(api.stdout).not.toContain('==>');
    expect(await readFile(logFile('api'), 'utf8')).toContain(api.stdout);
  });

  it('down stops exactly what up started, the worker and api gracefully', async () => {
    await stack('down');
    expect(Object.entries(pids).filter(([, pid]) => alive(pid))).toEqual([]);
    const workerLog = await readFile(path.join(home, 'logs', 'worker.log'), 'utf8');
    expect(workerLog).toMatch(/"msg":"worker stopped"/);
    const apiLog = await readFile(path.join(home, 'logs', 'api.log'), 'utf8');
    expect(apiLog).toMatch(/"msg":"api stopped"/);
    const { stdout } = await stack('status');
    expect(stdout).not.toMatch(/running/);
    pids = {};
  });

  it('a second down, with nothing running, says so and succeeds', async () => {
    // execFile rejects on a non-zero exit, which would fail the test.
    const { stdout, stderr } = await stack('down');
    expect(stdout).toMatch(/nothing runs/);
    expect(stdout).not.toMatch(/stopped/);
    expect(stderr).toBe('');
  });
});
