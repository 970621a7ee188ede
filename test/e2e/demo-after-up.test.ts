import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment as DeploymentView, NotifyChannelView as ChannelView } from '../../client';
import type { Alert } from '../../domain';
import { freePort } from '../support/free-port';
import { projectRoot } from '../support/tools';

const run = promisify(execFile);

/**
 * The README's order, as a new user runs it: `./temporal-dev.sh up` (no NOTIFY_CHANNELS), then
 * `./temporal-dev.sh demo` against the stack already up. The demo registers its own alert
 * channel with the api, so its alerts arrive although the worker started without it; and when
 * they cannot arrive it fails, naming each missing alert. One stack for both runs.
 */
let home: string;
let env: NodeJS.ProcessEnv;
let ports: Record<string, number>;
let alertPort: number;
let token: string;

const script = path.join(projectRoot, 'temporal-dev.sh');

async function stack(command: string, timeout = 170_000) {
  return await run(script, [command], { env, cwd: projectRoot, timeout });
}

async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${ports.API_PORT}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${url}`).toBe(200);
  return (await response.json()) as T;
}

async function demoChannel(): Promise<ChannelView | undefined> {
  const { channels } = await api<{ channels: ChannelView[] }>('GET', '/api/v1/channels');
  return channels.find((channel) => channel.name === 'demo');
}

/** The id of the last release the demo printed (`releasing v1.1.0: deployment <id>, ...`). */
function releaseId(stdout: string): string {
  const ids = [...stdout.matchAll(/releasing v1\.1\.0: deployment (\S+),/g)].map(
    (match) => match[1],
  );
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'relguard-demo-after-up-'));
  ports = {
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    FERRETDB_PORT: await freePort(),
    PROMETHEUS_PORT: await freePort(),
    ALERTMANAGER_PORT: await freePort(),
    API_PORT: await freePort(),
  };
  alertPort = await freePort();
  env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
    RELGUARD_HOME: home,
    RELGUARD_TOOLS: path.join(projectRoot, '.relguard', 'tools'),
    // The demo sizes its bake and windows from it: 2 s keeps the two runs short.
    RELGUARD_SCRAPE_INTERVAL: '2s',
    DEMO_ALERT_PORT: String(alertPort),
  };
  // What the issue found: a worker started without the demo's channel.
  delete env.NOTIFY_CHANNELS;
  delete env.MONGODB_URI;
  await stack('up');
  token = (await readFile(path.join(home, 'token'), 'utf8')).trim();
}, 300_000);

afterAll(async () => {
  await stack('down').catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

describe('./temporal-dev.sh demo on a stack already up', () => {
  it('registers its channel, receives the rollback and analysis alerts with their links, exits 0', async () => {
    expect(await demoChannel()).toBeUndefined();
    // execFile rejects on a non-zero exit.
    const { stdout } = await stack('demo', 400_000);
    const lines = stdout.split('\n');
    for (const kind of ['rolled_back', 'analysis_ready']) {
      const index = lines.findIndex((line) =>
        new RegExp(`^\\+\\d+\\.\\ds alert ${kind} arrived: `).test(line),
      );
      expect(index, `${kind} arrived`).toBeGreaterThan(0);
      // Its links, one a line under it.
      expect(lines[index + 1]).toMatch(/^ {4}\S.*: https?:\/\/\S+$/);
    }
    expect(stdout).toMatch(/^culprit: #103 /m);

    const channel = await demoChannel();
    expect(channel).toMatchObject({
      type: 'webhook',
      host: `http://127.0.0.1:${alertPort}`,
      source: 'api',
    });
    const deployment = await api<DeploymentView>('GET', `/api/v1/deployments/${releaseId(stdout)}`);
    expect(deployment.status).toBe('rolled_back');
    const sent = (deployment.alert_deliveries ?? [])
      .filter((delivery) => delivery.channel === 'demo' && delivery.status === 'sent')
      .map((delivery) => delivery.kind);
    expect(sent).toEqual(['rolled_back', 'analysis_ready']);
  }, 420_000);

  it('exits 1 naming each alert that did not arrive when its channel answers 500', async () => {
    // A channel that refuses every alert, and counts them.
    const refused: Alert[] = [];
    const refusing = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        refused.push((JSON.parse(body) as { alert: Alert }).alert);
        response.writeHead(500).end('down for maintenance');
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/alerts`;
    try {
      const before = (await demoChannel())?.updated_at ?? 0;
      const demo = spawn(script, ['demo'], { env, cwd: projectRoot });
      let stdout = '';
      let stderr = '';
      demo.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      demo.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => demo.on('close', resolve));

      // The demo points its channel at its receiver again as it starts; then its receiver is
      // replaced by the refusing one, long before the rollback.
      const deadline = Date.now() + 120_000;
      while (((await demoChannel())?.updated_at ?? 0) <= before) {
        expect(
          Date.now(),
          `the demo registered its channel; it said:\n${stdout}${stderr}`,
        ).toBeLessThan(deadline);
        await delay(200);
      }
      expect(stdout).not.toMatch(/releasing v1\.1\.0/);
      await api('PUT', '/api/v1/channels/demo', { type: 'webhook', url: refusingUrl });

      expect(await exited, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(1);
      expect(stdout).not.toMatch(/alert \w+ arrived/);
      for (const kind of ['rolled_back', 'analysis_ready']) {
        expect(stderr).toMatch(
          new RegExp(
            `^demo: no ${kind} alert arrived at the demo's channel "demo"; the deployment records: demo failed: .*500.* \\(attempt \\d+\\)$`,
            'm',
          ),
        );
      }
      // The story itself went as always: only the alerts are missing.
      expect(stderr).not.toMatch(/not rolled back|no report names/);
      expect(stdout).toMatch(/^culprit: #103 /m);
      // relguard did try: the refusing channel was asked, with each alert of the release.
      const id = releaseId(stdout);
      expect(new Set(refused.map((alert) => `${alert.kind} ${alert.deployment_id}`))).toEqual(
        new Set([`rolled_back ${id}`, `analysis_ready ${id}`]),
      );
    } finally {
      await new Promise((resolve) => refusing.close(resolve));
    }
  }, 420_000);
});
