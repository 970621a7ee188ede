import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { SshPlatform } from '../../activities/platform/ssh';
import type { Application, Deployment } from '../../domain';
import { startReleaseStack, type ReleaseStack } from '../support/release-stack';
import { ended, releaseCalls, waitForStoredDeployment } from '../support/release-calls';
import { startTogether } from '../support/start-together';
import { startSshd, type TestSshd } from './sshd';
import { tarGz } from './tar-writer';

/**
 * A release to a machine whose ssh host key changed since relguard learnt it: through the api,
 * the release workflow on a Temporal dev server and the worker's ssh platform, the machine is
 * refused once (no retry can fix a key), and the refusal is written on the deployment.
 */
let stack: ReleaseStack;
let sshd: TestSshd;
let workDir: string;
const { api } = releaseCalls(() => stack.app);

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-ssh-release-'));
  [stack, sshd] = await startTogether([startReleaseStack({ worker: false }), startSshd()]);
  const knownHosts = path.join(workDir, 'known_hosts');
  await sshd.writeKnownHosts(knownHosts);
  stack.activityDeps.deps.platforms.ssh = new SshPlatform({
    releasesKept: 3,
    logger: createLogger('worker', 'silent'),
    hostKeys: { policy: 'strict', knownHostsFile: knownHosts },
  });
  await stack.startWorker();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await sshd?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('a release to a machine whose ssh host key changed', () => {
  it('fails the machine once, with both fingerprints on the deployment', async () => {
    const created = await api<Application>('POST', '/api/v1/applications', {
      name: 'shop',
      deployment_platform: 'ssh',
      deploy_path: path.join(workDir, 'deploy'),
      start_cmd: 'node main.js',
      machines: [
        {
          id: 'm1',
          host: '127.0.0.1',
          port: 4001,
          ssh: { user: sshd.user, port: sshd.port, key_path: sshd.clientKeyPath },
        },
      ],
    });
    expect(created.status).toBe(201);
    const archive = tarGz([{ name: 'main.js', data: 'console.log("hi")\n' }]);
    const md5 = createHash('md5').update(archive).digest('hex');
    const uploaded = await stack.app.request(
      `/api/v1/applications/${created.body.id}/packages/1.0.0?md5=${md5}`,
      { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: archive },
    );
    expect(uploaded.status).toBe(201);

    const trusted = sshd.hostFingerprint;
    await sshd.changeHostKeys();
    const started = await api<Deployment & { workflow_id: string }>('POST', '/api/v1/deployments', {
      app_id: created.body.id,
      package_version: '1.0.0',
      requested_by: 'test',
    });
    expect(started.status).toBe(202);
    const deployment = await waitForStoredDeployment(
      stack.testStore.store,
      started.body.id,
      (current) =>
        ended(current) && current.node_deployments.every((node) => node.status !== 'deploying'),
      90_000,
    );
    expect(ended(deployment)).toBe(true);
    expect(deployment.status).not.toBe('succeeded');
    const node = deployment.node_deployments.find((candidate) => candidate.machine_id === 'm1')!;
    expect(node.status).toBe('failed');
    expect(node.error).toContain(
      `the ssh host key of machine m1 (127.0.0.1:${sshd.port}) has changed`,
    );
    expect(node.error).toContain(`it presented ${sshd.hostFingerprint}`);
    expect(node.error).toContain(`relguard expects ${trusted}`);

    const app = await stack.testStore.store.applications.get(created.body.id);
    expect(app.machines[0]).toMatchObject({ status: 'error', version: '' });
    expect(app.machines[0]!.status_reason).toContain(sshd.hostFingerprint);

    expect(deployment.reason).toContain(`it presented ${sshd.hostFingerprint}`);

    // Non-retryable: the deploy activity ran once, and its failure says so.
    const events =
      (await stack.temporal.client.workflow.getHandle(started.body.workflow_id).fetchHistory())
        .events ?? [];
    const deploys = events.filter(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'deployMachine',
    );
    expect(deploys).toHaveLength(1);
    const deployId = Number(deploys[0]!.eventId);
    const attempts = events.filter(
      (event) => Number(event.activityTaskStartedEventAttributes?.scheduledEventId) === deployId,
    );
    expect(attempts.map((event) => event.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
    const failed = events.find(
      (event) => Number(event.activityTaskFailedEventAttributes?.scheduledEventId) === deployId,
    )?.activityTaskFailedEventAttributes;
    // RETRY_STATE_NON_RETRYABLE_FAILURE
    expect(failed?.retryState).toBe(2);
    expect(failed?.failure?.applicationFailureInfo).toMatchObject({
      type: 'BadConfig',
      nonRetryable: true,
    });
  }, 120_000);
});
