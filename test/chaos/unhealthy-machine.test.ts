import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application, Deployment } from '../../domain';
import { createDemoRepo } from '../support/demo-repo';
import { freePort } from '../support/free-port';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import {
  machineVersions,
  releaseCalls,
  startAlertReceiver,
  type AlertReceiver,
} from '../support/release-calls';
import { startTogether } from '../support/start-together';

/**
 * A machine that never becomes healthy: v2.0.0 starts on machine m3 (batch 2 of four machines,
 * one per batch) with settings of its own that drop every health check, so its process runs but
 * its /healthz never answers. Its deploy fails after its three attempts; the release stops, m4
 * is never touched, every machine it touched is put back on v1.0.0, and an alert says why.
 */
let stack: ReleaseStack;
let receiver: AlertReceiver;
let repo: string;
let deployPath: string;
let app: Application;
const ports: number[] = [];
const { api, waitForStatus } = releaseCalls(() => stack.app);

/** The mockserver's network fault that resets every connection to /healthz, from its start. */
const healthDropped = {
  faults: [{ type: 'network', params: { drop: true, routes: ['/healthz'] } }],
};

beforeAll(async () => {
  receiver = await startAlertReceiver();
  [stack, repo, deployPath] = await startTogether([
    startReleaseStack({ notifyChannels: { oncall: { type: 'webhook', url: receiver.url } } }),
    createDemoRepo([
      {
        tag: 'v1.0.0',
        pullRequests: [
          { number: 1, title: 'Start script', files: { 'start.sh': 'exec node main.js\n' } },
        ],
      },
      {
        tag: 'v2.0.0',
        pullRequests: [
          {
            number: 2,
            title: 'Settings per machine',
            files: {
              'start.sh': [
                'config="machines/$RELGUARD_MACHINE_ID.json"',
                'if [ -f "$config" ]; then exec node main.js --config "$config"; fi',
                'exec node main.js',
                '',
              ].join('\n'),
              'machines/m3.json': JSON.stringify(healthDropped),
            },
          },
        ],
      },
    ]),
    mkdtemp(path.join(os.tmpdir(), 'relguard-machines-')),
  ]);
  for (let i = 0; i < 4; i++) ports.push(await freePort());
  const created = await api<Application>('POST', '/api/v1/applications', {
    name: 'shop',
    repo,
    deploy_path: deployPath,
    start_cmd: 'sh start.sh',
    health_check: { path: '/healthz', timeout_seconds: 3 },
    machines: ports.map((port, i) => ({ id: `m${i + 1}`, host: '127.0.0.1', port })),
    pacer: { batch_size: 1, gray_bake_seconds: 1, interval_seconds: 1 },
    // No metric guard: the machine's own health check is what fails. Alerts still go out.
    rollback_policy: { enabled: false, notify: ['oncall'], ai_analysis: false },
  });
  expect(created.status).toBe(201);
  app = created.body;
}, 240_000);

afterAll(async () => {
  await stack?.stopMachines();
  await stack?.stop();
  await receiver?.close();
  await rm(repo, { recursive: true, force: true });
  await rm(deployPath, { recursive: true, force: true });
});

describe('a machine that never becomes healthy', () => {
  it('stops its batch and rolls every machine touched back', async () => {
    const first = await api<Deployment>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v1.0.0',
    });
    expect(first.status).toBe(202);
    expect(
      (await waitForStatus(first.body.id, ['succeeded', 'failed', 'rolled_back'])).status,
    ).toBe('succeeded');
    const before = await machineVersions(ports);
    expect(before.map((machine) => machine.version)).toEqual([
      'v1.0.0',
      'v1.0.0',
      'v1.0.0',
      'v1.0.0',
    ]);

    const started = await api<Deployment & { workflow_id: string }>('POST', '/api/v1/deployments', {
      app_id: app.id,
      package_version: 'v2.0.0',
    });
    expect(started.status).toBe(202);
    expect(started.body.node_deployments.map((node) => [node.machine_id, node.batch])).toEqual([
      ['m1', 0],
      ['m2', 1],
      ['m3', 2],
      ['m4', 3],
    ]);
    const done = await waitForStatus(started.body.id, ['succeeded', 'failed', 'rolled_back']);
    expect(done.status).toBe('rolled_back');
    expect(done.reason).toMatch(/^machine m3 failed to deploy v2\.0\.0: .*m3 is not healthy/);
    expect(done.rollback?.requested_by).toBe('relguard');

    // m3 failed (the error it failed with is kept) before it was put back like m1 and m2; m4,
    // in the batch after it, was never deployed.
    const nodes = new Map(done.node_deployments.map((node) => [node.machine_id, node]));
    expect(nodes.get('m3')?.error).toMatch(/did not answer 2xx within 3 s/);
    expect([...nodes].map(([machineId, node]) => [machineId, node.status])).toEqual([
      ['m1', 'rolled_back'],
      ['m2', 'rolled_back'],
      ['m3', 'rolled_back'],
      ['m4', 'pending'],
    ]);
    expect(nodes.get('m4')?.started_at).toBeUndefined();
    const history = await stack.temporal.client.workflow
      .getHandle(started.body.workflow_id)
      .fetchHistory();
    // One failed deploy in the history, m3's, on its last of three attempts.
    const events = history.events ?? [];
    const failed = events.filter((event) => event.activityTaskFailedEventAttributes);
    expect(failed).toHaveLength(1);
    const failure = failed[0]!.activityTaskFailedEventAttributes!;
    expect(failure.failure?.message).toMatch(/on machine m3 is not healthy/);
    const startedEvent = events.find(
      (event) => Number(event.eventId) === Number(failure.startedEventId),
    );
    expect(startedEvent?.activityTaskStartedEventAttributes?.attempt).toBe(3);

    // Every machine runs v1.0.0; m4 still runs the very process v1.0.0 started.
    const after = await machineVersions(ports);
    expect(after.map((machine) => machine.version)).toEqual([
      'v1.0.0',
      'v1.0.0',
      'v1.0.0',
      'v1.0.0',
    ]);
    expect(after[3]).toEqual(before[3]);
    const application = await api<Application>('GET', `/api/v1/applications/${app.id}`);
    expect(application.body).toMatchObject({ currentVersion: 'v1.0.0', health_count: 4 });
    expect(application.body.machines.map((machine) => machine.version)).toEqual([
      'v1.0.0',
      'v1.0.0',
      'v1.0.0',
      'v1.0.0',
    ]);

    const alert = await receiver.waitFor('rolled_back', 'shop');
    expect(alert.version).toBe('v2.0.0');
    expect(alert.previous_version).toBe('v1.0.0');
    expect(alert.title).toContain('machine m3 failed to deploy v2.0.0');
    expect(alert.action).toMatch(/^rolled back 3 machine\(s\) to v1\.0\.0/);
    expect(receiver.alerts.map((received) => received.kind)).toEqual(['rolled_back']);
  });
});
