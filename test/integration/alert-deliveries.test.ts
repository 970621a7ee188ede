import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertAttempts, type Application, type Deployment } from '../../domain';
import type { ReleaseResult } from '../../workflows/release/messages';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { releaseCalls, startAlertReceiver, type AlertReceiver } from '../support/release-calls';
import { startTogether } from '../support/start-together';

/**
 * Alerts are delivered or loudly not, for real: a release on a Temporal dev server with the
 * real worker activities, its channels real HTTP receivers. One channel answers 500 to every
 * alert, one takes it, and one is put through the api after the worker started. The deployment
 * records each attempt per channel, the release's result names the alert that was given up on,
 * /metrics counts it, and the channel put while the stack ran got the alert: no restart.
 */
let stack: ReleaseStack;
let repo: string;
let deployPath: string;
let healthy: AlertReceiver;
let late: AlertReceiver;
let broken: { url: string; hits: number; close(): Promise<void> };
let app: Application;

const { api, waitForStatus } = releaseCalls(() => stack.app);

/** A channel whose service is down: 500 to every alert. */
async function startBrokenReceiver(): Promise<typeof broken> {
  let hits = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      hits++;
      response.writeHead(500).end('internal error, try later');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T0SECRET/broken`,
    get hits() {
      return hits;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  [healthy, late, broken, repo, deployPath] = await startTogether([
    startAlertReceiver(),
    startAlertReceiver(),
    startBrokenReceiver(),
    createDemoRepo([{ tag: 'v1.0.0' }]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-alert-deliveries-')),
  ]);
  // The stack's NOTIFY_CHANNELS: what the api and the worker write to the store at start.
  stack = await startReleaseStack({
    notifyChannels: {
      healthy: { type: 'webhook', url: healthy.url },
      broken: { type: 'webhook', url: broken.url },
    },
  });
}, 240_000);

afterAll(async () => {
  await stack?.stopMachines();
  await stack?.stop();
  await Promise.all([healthy?.close(), late?.close(), broken?.close()]);
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

describe('alert deliveries of a release', () => {
  it('a channel put while the worker runs is usable at once by an application', async () => {
    const put = await api('PUT', '/api/v1/channels/late', { type: 'webhook', url: late.url });
    expect(put.status).toBe(200);
    const ports = [await freePort(), await freePort()];
    const created = await api<Application>('POST', '/api/v1/applications', {
      name: 'shop',
      repo,
      deploy_path: deployPath,
      start_cmd: 'node main.js',
      health_check: { path: '/healthz', timeout_seconds: 20 },
      machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
      // The gray machine bakes until the test rolls it back.
      pacer: { batch_size: 1, gray_bake_seconds: 600, interval_seconds: 1 },
      rollback_policy: {
        enabled: false,
        ai_analysis: false,
        notify: ['healthy', 'broken', 'late'],
      },
    });
    expect(created.status).toBe(201);
    app = created.body;
  });

  it('records each attempt per channel, names the given-up alert in the result, counts it', async () => {
    const started = await api<Deployment & { workflow_id: string }>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v1.0.0',
      requested_by: 'test',
    });
    expect(started.status).toBe(202);
    await waitForStatus(started.body.id, ['verifying'], 180);
    const rollback = await api('POST', `/api/v1/deployments/${started.body.id}/rollback`, {
      reason: 'error rate on /api/pay',
      requested_by: 'alice',
    });
    expect(rollback.status).toBe(202);

    // The release waits for its alerts (every attempt) before it ends.
    const result = (await stack.temporal.client.workflow
      .getHandle(started.body.workflow_id)
      .result()) as ReleaseResult;
    expect(result.status).toBe('rolled_back');
    expect(result.undelivered_alerts).toHaveLength(1);
    expect(result.undelivered_alerts[0]).toMatchObject({
      kind: 'rolled_back',
      channels: ['broken'],
    });
    expect(result.undelivered_alerts[0]?.reason).toContain('broken: webhook');
    expect(result.undelivered_alerts[0]?.reason).toContain('HTTP 500');
    expect(result.undelivered_alerts[0]?.reason).not.toContain('T0SECRET');

    // The healthy channels took it once each, at the first attempt; the broken one every time.
    expect(healthy.alerts.map((alert) => alert.kind)).toEqual(['rolled_back']);
    expect(late.alerts.map((alert) => alert.kind)).toEqual(['rolled_back']);
    expect(broken.hits).toBe(alertAttempts);

    // The links a person clicks first: the console's release page, then the Temporal UI.
    const links = healthy.alerts[0]!.links;
    expect(links[0]).toEqual({
      label: 'Release',
      url: `${stack.apiUrl}/console/releases/${started.body.id}`,
    });
    expect(links[1]?.url).toContain(`/workflows/${started.body.workflow_id}`);
    expect(links.map((link) => link.label)).toContain('Deployment');

    const { body: deployment } = await api<Deployment>(
      'GET',
      `/api/v1/deployments/${started.body.id}`,
    );
    const deliveries = deployment.alert_deliveries ?? [];
    const of = (channel: string) =>
      deliveries
        .filter((delivery) => delivery.channel === channel)
        .map(({ kind, status, attempt }) => ({ kind, status, attempt }));
    expect(of('healthy')).toEqual([{ kind: 'rolled_back', status: 'sent', attempt: 1 }]);
    expect(of('late')).toEqual([{ kind: 'rolled_back', status: 'sent', attempt: 1 }]);
    expect(of('broken')).toEqual(
      Array.from({ length: alertAttempts }, (_, i) => ({
        kind: 'rolled_back',
        status: i + 1 < alertAttempts ? 'retrying' : 'failed',
        attempt: i + 1,
      })),
    );
    const failed = deliveries.find((delivery) => delivery.status === 'failed');
    expect(failed?.error).toContain('HTTP 500');
    expect(failed?.error).toContain('internal error, try later');
    expect(JSON.stringify(deliveries)).not.toContain('T0SECRET');

    const metrics = await (await stack.app.request('/metrics')).text();
    const sample = (channel: string, outcome: string) =>
      new RegExp(
        `^relguard_alert_deliveries_total\\{app="shop",kind="rolled_back",channel="${channel}",outcome="${outcome}"\\} (\\d+)$`,
        'm',
      ).exec(metrics)?.[1];
    expect(sample('broken', 'failed')).toBe('1');
    expect(sample('broken', 'retrying')).toBe(String(alertAttempts - 1));
    expect(sample('healthy', 'sent')).toBe('1');
    expect(sample('late', 'sent')).toBe('1');
    expect(sample('healthy', 'failed')).toBeUndefined();
  }, 240_000);
});
