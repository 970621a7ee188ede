/**
 * What the release benches share: a tiny application in a git repository, machines of the
 * local platform whose start_cmd is a sleeping shell and whose health checks one HTTP server of
 * the bench answers, and a release run through the api until it ends.
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Application, Deployment, NodeDeployment, PacerConfig } from '../../domain';
import type { ReleaseStack } from '../../test/support/release-stack';

const run = promisify(execFile);

/**
 * A start_cmd that costs a few kilobytes, not a Node process: it marks that it ran (the health
 * responder answers 2xx only after that), then sleeps in the process group the platform started.
 */
export const sleepingStartCmd =
  'echo "$RELGUARD_VERSION" > "$RELGUARD_DEPLOY_PATH/running"; exec sleep 3600';

/** A git repository of a tiny application, tagged `version`: what relguard builds packages of. */
export async function createTinyRepo(version: string): Promise<string> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'relguard-bench-repo-'));
  const git = (...args: string[]) =>
    run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], {
      cwd: repo,
    });
  await git('init', '-q', '-b', 'main');
  await writeFile(path.join(repo, 'README.md'), 'A tiny application for the release benches.\n');
  await writeFile(path.join(repo, 'VERSION'), `${version}\n`);
  await git('add', '-A');
  await git('commit', '-q', '-m', `release ${version}`);
  await git('tag', version);
  return repo;
}

/**
 * One HTTP server on `count` loopback ports, one per machine: it answers a port's health check
 * 200 once that machine's start_cmd has run (its `running` file exists), 503 before. The
 * platform's real health-check code polls it as it would poll the application.
 */
export interface HealthResponder {
  ports: number[];
  /** Which machine folder a port answers for; set before the release. */
  assign(port: number, machineDir: string): void;
  close(): Promise<void>;
}

export async function startHealthResponder(count: number): Promise<HealthResponder> {
  const machineDirs = new Map<number, string>();
  const server = http.createServer((request, response) => {
    const dir = machineDirs.get(request.socket.localPort ?? 0);
    const answer = (status: number) => {
      response.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
    };
    if (dir === undefined) return answer(404);
    access(path.join(dir, 'running')).then(
      () => answer(200),
      () => answer(503),
    );
  });
  server.keepAliveTimeout = 1000;
  const listeners: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    // Each listener hands its connections to the one HTTP server.
    const listener = net.createServer((socket) => server.emit('connection', socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    listeners.push(listener);
    ports.push((listener.address() as net.AddressInfo).port);
  }
  return {
    ports,
    assign(port, machineDir) {
      machineDirs.set(port, machineDir);
    },
    async close() {
      server.closeAllConnections();
      await Promise.all(
        listeners.map((listener) => new Promise((resolve) => listener.close(resolve))),
      );
    },
  };
}

/** The api of the stack, as JSON; a non-2xx answer is an error that names it. */
export async function api<T>(
  stack: ReleaseStack,
  method: string,
  url: string,
  body?: unknown,
): Promise<T> {
  const response = await stack.app.request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export interface FleetApp {
  app: Application;
  deployPath: string;
}

/**
 * An application of the local platform with a machine on each port, its package of `version`
 * built from `repo` by relguard (the package workflow), or uploaded from the package
 * `packageFrom` has (as a CI job would), without a rollback policy: the benches measure the
 * release's orchestration, the guard has a bench of its own.
 */
export async function createFleetApp(
  stack: ReleaseStack,
  options: {
    name: string;
    repo: string;
    version: string;
    ports: number[];
    startCmd: string;
    pacer: Partial<PacerConfig>;
    packageFrom?: Application;
  },
): Promise<FleetApp> {
  const deployPath = await mkdtemp(path.join(os.tmpdir(), `relguard-bench-${options.name}-`));
  const app = await api<Application>(stack, 'POST', '/api/v1/applications', {
    name: options.name,
    repo: options.repo,
    deploy_path: deployPath,
    start_cmd: options.startCmd,
    machines: options.ports.map((port, i) => ({
      id: `m${String(i + 1).padStart(4, '0')}`,
      host: '127.0.0.1',
      port,
    })),
    pacer: options.pacer,
    rollback_policy: { enabled: false },
  });
  if (options.packageFrom === undefined) {
    await api(stack, 'POST', '/api/v1/packages', { app_id: app.id, version: options.version });
    await waitForPackage(stack, app.id, options.version);
  } else {
    await copyPackage(stack, options.packageFrom, app, options.version);
  }
  return { app, deployPath };
}

/** Uploads the package `from` has of `version` to `to`, as a CI job would. */
export async function copyPackage(
  stack: ReleaseStack,
  from: Application,
  to: Application,
  version: string,
): Promise<void> {
  const { items } = await api<{ items: { version: string; url: string; md5: string }[] }>(
    stack,
    'GET',
    `/api/v1/applications/${from.id}/packages`,
  );
  const record = items.find((item) => item.version === version);
  if (record === undefined) throw new Error(`${from.name} has no package of ${version}`);
  const bytes = await (await fetch(record.url)).arrayBuffer();
  const response = await stack.app.request(
    `/api/v1/applications/${to.id}/packages/${version}?md5=${record.md5}`,
    { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: bytes },
  );
  if (response.status !== 201) {
    throw new Error(`upload to ${to.name}: ${response.status} ${await response.text()}`);
  }
}

async function waitForPackage(stack: ReleaseStack, appId: string, version: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { items } = await api<{ items: { version: string }[] }>(
      stack,
      'GET',
      `/api/v1/applications/${appId}/packages`,
    );
    if (items.some((item) => item.version === version)) return;
    if (Date.now() > deadline) throw new Error(`no package ${version} after 2 minutes`);
    await delay(200);
  }
}

export interface ReleaseRun {
  deployment: Deployment;
  workflowId: string;
  /** The bench's clock before it asked the api to start the release. */
  startedAt: number;
  /** When the deployment was written `succeeded` (its updatedTime), epoch ms. */
  endedAt: number;
}

/**
 * Starts a release of `version` through the api and waits for its workflow to end; a release
 * that does not succeed is an error (a bench of a failed release measures nothing).
 */
export async function runRelease(
  stack: ReleaseStack,
  app: Application,
  version: string,
): Promise<ReleaseRun> {
  const startedAt = Date.now();
  const started = await api<Deployment & { workflow_id: string }>(
    stack,
    'POST',
    '/api/v1/deployments',
    { app_id: app.id, package_version: version, requested_by: 'bench' },
  );
  const result = (await stack.temporal.client.workflow.getHandle(started.workflow_id).result()) as {
    status: string;
    reason?: string;
  };
  const deployment = await stack.testStore.store.deployments.get(started.id);
  if (result.status !== 'succeeded' || deployment.status !== 'succeeded') {
    throw new Error(
      `the release of ${app.name} ended ${deployment.status}: ${result.reason ?? deployment.reason ?? ''}`,
    );
  }
  return {
    deployment,
    workflowId: started.workflow_id,
    startedAt,
    endedAt: deployment.updatedTime,
  };
}

/** Each batch's machines, in batch order. */
export function nodesByBatch(deployment: Deployment): NodeDeployment[][] {
  const batches: NodeDeployment[][] = [];
  for (const node of deployment.node_deployments) (batches[node.batch] ??= []).push(node);
  return batches;
}

/** finished_at - started_at of a machine, see activities/release.ts deployMachine. */
export function machineMs(node: NodeDeployment): number {
  if (node.started_at === undefined || node.finished_at === undefined) {
    throw new Error(`machine ${node.machine_id} has no start or finish time`);
  }
  return node.finished_at - node.started_at;
}

/**
 * Stops every machine of the application through the platform (stop_cmd or its process group),
 * a few at a time, and removes its folder.
 */
export async function removeFleetApp(stack: ReleaseStack, fleet: FleetApp): Promise<void> {
  const app = (await stack.testStore.store.applications.find(fleet.app.id)) ?? fleet.app;
  const queue = [...app.machines];
  const stopNext = async () => {
    for (let machine = queue.shift(); machine !== undefined; machine = queue.shift()) {
      await stack.activityDeps.deps.platforms.local.stop({ app, machine });
    }
  };
  await Promise.all(Array.from({ length: 16 }, stopNext));
  await rm(fleet.deployPath, { recursive: true, force: true });
}

export const percentile = (numbers: number[], p: number): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
