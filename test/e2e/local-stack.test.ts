import { execFile } from 'node:child_process';
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

async function stack(command: string) {
  return await run(path.join(projectRoot, 'temporal-dev.sh'), [command], {
    env,
    cwd: projectRoot,
    timeout: 170_000,
  });
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
    LOG_LEVEL: 'info',
  };
  delete env.MONGODB_URI;
});
afterAll(async () => {
  await stack('down').catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

describe('./temporal-dev.sh up, status and down', () => {
  let pids: Record<string, number> = {};

  it('starts every service and waits until each answers', async () => {
    await stack('up');
    const runDir = path.join(home, 'run');
    for (const file of await readdir(runDir)) {
      pids[file.replace(/\.pid$/, '')] = Number(await readFile(path.join(runDir, file), 'utf8'));
    }
    expect(Object.keys(pids).sort()).toEqual(
      ['alertmanager', 'api', 'ferretdb', 'prometheus', 'temporal', 'worker'].sort(),
    );

    const health = await fetch(`http://127.0.0.1:${ports.API_PORT}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', temporal: 'ok', mongo: 'ok' });
    expect((await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/-/ready`)).text()).toMatch(
      /Ready/,
    );
    expect((await fetch(`http://127.0.0.1:${ports.ALERTMANAGER_PORT}/-/ready`)).status).toBe(200);

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

  it('is idempotent: a second up starts nothing new', async () => {
    const { stdout } = await stack('up');
    expect(stdout).toMatch(/temporal already running/);
    expect(stdout).toMatch(/api already running/);
    expect(await readFile(path.join(home, 'run', 'api.pid'), 'utf8')).toBe(`${pids.api}\n`);
    expect(stdout).toMatch(/keeping its token/);
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
});
