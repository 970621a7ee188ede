import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../activities/db';
import { ApplicationInput, FailureType, type RelguardError } from '../../domain';
import { startTestStore, type TestStore } from '../support/mongo';

/**
 * The machines of a batch report at once. FerretDB v1 applies an update as an unisolated
 * read-change-write of the whole document, so concurrent updates of one deployment or one
 * application lost all but a few of them; the repositories merge them into single writes.
 */
let testStore: TestStore;
let store: Store;
const machineCount = 60;
const machineIds = Array.from({ length: machineCount }, (_, i) => `m${i + 1}`);

beforeAll(async () => {
  testStore = await startTestStore();
  store = testStore.store;
});
afterAll(async () => {
  await testStore.close();
});

describe('writes of one document at once', () => {
  it('keeps every machine’s node deployment when all of them are set at the same time', async () => {
    const created = await store.deployments.create({
      app_name: 'fleet',
      app_id: 'app-fleet',
      status: 'deploying',
      package_version: 'v2',
      gray_machine_id: 'm1',
      platform: 'local',
      node_deployments: machineIds.map((machine_id, i) => ({
        machine_id,
        batch: i === 0 ? 0 : 1,
        status: 'pending' as const,
        version: 'v2',
      })),
      previous_version: 'v1',
    });

    await Promise.all(
      machineIds.map((machineId, i) =>
        store.deployments.setNodeDeployment(created.id, machineId, {
          status: 'deploying',
          started_at: 1_000 + i,
        }),
      ),
    );
    await Promise.all([
      ...machineIds.map((machineId, i) =>
        store.deployments.setNodeDeployment(created.id, machineId, {
          status: 'deployed',
          finished_at: 5_000 + i,
        }),
      ),
      store.deployments.update(created.id, { status: 'verifying' }),
    ]);

    const stored = await store.deployments.get(created.id);
    expect(stored.status).toBe('verifying');
    expect(stored.node_deployments).toEqual(
      machineIds.map((machine_id, i) => ({
        machine_id,
        batch: i === 0 ? 0 : 1,
        status: 'deployed',
        version: 'v2',
        started_at: 1_000 + i,
        finished_at: 5_000 + i,
      })),
    );
  });

  it('refuses a machine the deployment does not have, and still writes the others', async () => {
    const created = await store.deployments.create({
      app_name: 'fleet',
      app_id: 'app-fleet',
      status: 'deploying',
      package_version: 'v2',
      gray_machine_id: 'm1',
      platform: 'local',
      node_deployments: [{ machine_id: 'm1', batch: 0, status: 'pending', version: 'v2' }],
      previous_version: '',
    });
    const [unknown, known] = await Promise.allSettled([
      store.deployments.setNodeDeployment(created.id, 'm404', { status: 'deployed' }),
      store.deployments.setNodeDeployment(created.id, 'm1', { status: 'deployed' }),
    ]);
    expect(unknown.status === 'rejected' && (unknown.reason as RelguardError).type).toBe(
      FailureType.NotFound,
    );
    expect(known.status).toBe('fulfilled');
    expect((await store.deployments.get(created.id)).node_deployments[0]?.status).toBe('deployed');
  });

  it('keeps every machine’s version and the counts when all machines change at once', async () => {
    const app = await store.applications.create(
      ApplicationInput.parse({
        name: 'fleet-app',
        deploy_path: '/srv/fleet',
        start_cmd: 'node main.js',
        machines: machineIds.map((id, i) => ({ id, host: '127.0.0.1', port: 5000 + i })),
      }),
    );
    const answers = await Promise.all(
      machineIds.map((machineId, i) =>
        store.applications.updateMachine(app.id, machineId, {
          version: 'v2',
          status: i % 3 === 0 ? 'error' : 'healthy',
        }),
      ),
    );

    const stored = await store.applications.get(app.id);
    expect(stored.machines.map((machine) => [machine.id, machine.version, machine.status])).toEqual(
      machineIds.map((id, i) => [id, 'v2', i % 3 === 0 ? 'error' : 'healthy']),
    );
    expect(stored.error_count).toBe(machineCount / 3);
    expect(stored.health_count).toBe(machineCount - machineCount / 3);
    // Each answer is the application as the write that carried its change left it.
    for (const [i, answer] of answers.entries()) {
      expect(answer.machines[i]?.version).toBe('v2');
    }
  });

  it('keeps what another process wrote between two machine changes of this one', async () => {
    const app = await store.applications.create(
      ApplicationInput.parse({
        name: 'shared-app',
        deploy_path: '/srv/shared',
        start_cmd: 'node main.js',
        machines: [
          { id: 'm1', host: '127.0.0.1', port: 5001 },
          { id: 'm2', host: '127.0.0.1', port: 5002 },
        ],
      }),
    );
    await store.applications.updateMachine(app.id, 'm1', { version: 'v2', status: 'healthy' });
    // The api, another process with a client of its own, edits the application meanwhile.
    const api = openStore({ uri: testStore.uri, dbName: testStore.dbName, timeoutMs: 3000 });
    try {
      await api.applications.update(app.id, { start_cmd: 'node server.js' });
    } finally {
      await api.close();
    }
    const answer = await store.applications.updateMachine(app.id, 'm2', {
      version: 'v2',
      status: 'healthy',
    });

    const stored = await store.applications.get(app.id);
    expect(stored.start_cmd).toBe('node server.js');
    expect(stored.machines.map((machine) => machine.version)).toEqual(['v2', 'v2']);
    expect(answer).toEqual(stored);
  });
});
