import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Repositories } from '../../activities/db';
import {
  isTerminal,
  type Alert,
  type AlertKind,
  type Deployment,
  type DeploymentStatus,
} from '../../domain';
import type { TestApi } from './api-token';

/** What tests of releases ask of a release stack's api and of its machines. */
export interface ReleaseCalls {
  /** One api call; the body parsed when there is one. */
  api: <T = unknown>(
    method: string,
    url: string,
    body?: unknown,
  ) => Promise<{ status: number; body: T }>;
  /** Polls the deployment until its status is one of `wanted`; throws after `seconds`. */
  waitForStatus: (id: string, wanted: DeploymentStatus[], seconds?: number) => Promise<Deployment>;
}

export function releaseCalls(app: () => TestApi): ReleaseCalls {
  const calls: ReleaseCalls = {
    async api<T>(method: string, url: string, body?: unknown) {
      const response = await app().request(url, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async waitForStatus(id, wanted, seconds = 120) {
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const { status, body } = await calls.api<Deployment>('GET', `/api/v1/deployments/${id}`);
        if (status === 200 && wanted.includes(body.status)) return body;
        if (Date.now() > deadline) {
          throw new Error(`deployment ${id} is ${body.status}, not ${wanted.join('|')}`);
        }
        await delay(250);
      }
    },
  };
  return calls;
}

/** What a machine of the demo application says it runs (GET /version), undefined if it is down. */
export interface MachineVersion {
  version?: string;
  pid?: number;
  started_at?: string;
}

export async function machineVersions(ports: readonly number[]): Promise<MachineVersion[]> {
  return await Promise.all(
    ports.map(async (port): Promise<MachineVersion> => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/version`, {
          signal: AbortSignal.timeout(2000),
        });
        return (await response.json()) as MachineVersion;
      } catch {
        return {};
      }
    }),
  );
}

/** A webhook notifier endpoint on loopback that keeps every alert it receives. */
export interface AlertReceiver {
  url: string;
  alerts: Alert[];
  /** The first alert of `kind` for `app`, waiting for it up to `seconds`. */
  waitFor(kind: AlertKind, app: string, seconds?: number): Promise<Alert>;
  close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const alerts: Alert[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      alerts.push((JSON.parse(body) as { alert: Alert }).alert);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    alerts,
    async waitFor(kind, app, seconds = 30) {
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const found = alerts.find((alert) => alert.kind === kind && alert.app === app);
        if (found !== undefined) return found;
        if (Date.now() > deadline) {
          const seen = alerts.map((alert) => `${alert.app} ${alert.kind}`).join(', ') || 'none';
          throw new Error(`no ${kind} alert for ${app} in ${seconds} s (received: ${seen})`);
        }
        await delay(200);
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The release has ended, whichever way. */
export const ended = (deployment: Deployment): boolean => isTerminal(deployment.status);

/**
 * Polls the deployment in MongoDB until `done` holds or `timeoutMs` passes, and returns it as
 * last read. From the store, not the api: the api asks the workflow for its progress, which
 * no worker answers while a test has killed it (or stopped Temporal).
 */
export async function waitForStoredDeployment(
  store: Repositories,
  id: string,
  done: (deployment: Deployment) => boolean,
  timeoutMs: number,
): Promise<Deployment> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await store.deployments.get(id);
    if (done(current) || Date.now() > deadline) return current;
    await delay(25);
  }
}

/** How often a machine started `version`: the mockserver's start lines in logs/<version>.log. */
export async function machineStarts(
  deployPath: string,
  machineId: string,
  version: string,
): Promise<number> {
  const log = await readFile(
    path.join(deployPath, machineId, 'logs', `${version}.log`),
    'utf8',
  ).catch(() => '');
  return log.split('\n').filter((line) => line.includes('mockserver listening')).length;
}
