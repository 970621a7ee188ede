import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../activities/db';
import {
  ApplicationInput,
  FailureType,
  RelguardError,
  type ApplicationInput as Input,
} from '../../domain';
import { sampleReport } from '../support/analysis-report';
import { startTestStore, type TestStore } from '../support/mongo';

let testStore: TestStore;
let store: Store;

beforeAll(async () => {
  testStore = await startTestStore();
  store = testStore.store;
});
afterAll(async () => {
  await testStore.close();
});

const input = (name: string, extra: Partial<Input> = {}): Input =>
  ApplicationInput.parse({
    name,
    repo: `/repos/${name}`,
    deploy_path: `/srv/${name}`,
    start_cmd: 'node main.js',
    ...extra,
  });

async function failureOf(promise: Promise<unknown>): Promise<FailureType | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof RelguardError) return error.type;
    throw error;
  }
}

describe('ApplicationRepository', () => {
  it('stores an application with its bookkeeping and reads it back by id and by name', async () => {
    const created = await store.applications.create(
      input('repo-create', {
        machines: [
          { id: 'm1', host: '127.0.0.1', port: 4001, status: 'healthy', version: '', labels: {} },
          { id: 'm2', host: '127.0.0.1', port: 4002, status: 'error', version: '', labels: {} },
        ],
      }),
      1_000,
    );
    expect(created).toMatchObject({
      currentVersion: '',
      prev_version: '',
      machine_count: 2,
      health_count: 1,
      error_count: 1,
      alert_count: 0,
      createdTime: 1_000,
      updatedTime: 1_000,
    });
    expect(created.id).toMatch(/^[a-f0-9]{24}$/);
    expect(await store.applications.get(created.id)).toEqual(created);
    expect(await store.applications.findByName('repo-create')).toEqual(created);
    const raw = await store.db.collection('applications').findOne({ name: 'repo-create' });
    expect(raw?._id).toBe(created.id);
    expect(raw).not.toHaveProperty('id');
  });

  it('refuses a second application with the same name', async () => {
    await store.applications.create(input('repo-dup'));
    expect(await failureOf(store.applications.create(input('repo-dup')))).toBe(
      FailureType.Conflict,
    );
  });

  it('updates only the fields given and recomputes the machine counts', async () => {
    const created = await store.applications.create(input('repo-update'), 1_000);
    const updated = await store.applications.update(
      created.id,
      {
        start_cmd: 'node server.js',
        machines: [{ id: 'm1', host: 'h', port: 1, status: 'alert', version: '', labels: {} }],
      },
      2_000,
    );
    expect(updated.start_cmd).toBe('node server.js');
    expect(updated.repo).toBe('/repos/repo-update');
    expect(updated.alert_count).toBe(1);
    expect(updated.machine_count).toBe(1);
    expect(updated.createdTime).toBe(1_000);
    expect(updated.updatedTime).toBe(2_000);
    expect(await store.applications.get(created.id)).toEqual(updated);
  });

  it('refuses a rename onto a taken name, and an update of a missing application', async () => {
    await store.applications.create(input('repo-taken'));
    const other = await store.applications.create(input('repo-other'));
    expect(await failureOf(store.applications.update(other.id, { name: 'repo-taken' }))).toBe(
      FailureType.Conflict,
    );
    expect(await failureOf(store.applications.update('0'.repeat(24), { repo: 'x' }))).toBe(
      FailureType.NotFound,
    );
  });

  it('refuses an update based on a stale read, so no edit is lost', async () => {
    const read = await store.applications.create(input('repo-race'), 1_000);
    const first = await store.applications.updateFrom(read, { start_cmd: 'first' }, 1_000);
    expect(first.updatedTime).toBeGreaterThan(read.updatedTime);
    expect(await failureOf(store.applications.updateFrom(read, { start_cmd: 'second' }))).toBe(
      FailureType.Conflict,
    );
    expect((await store.applications.get(read.id)).start_cmd).toBe('first');
  });

  it('deletes, and a second delete is NotFound', async () => {
    const created = await store.applications.create(input('repo-delete'));
    await store.applications.delete(created.id);
    expect(await store.applications.find(created.id)).toBeUndefined();
    expect(await failureOf(store.applications.delete(created.id))).toBe(FailureType.NotFound);
  });

  it('lists applications by name', async () => {
    const names = (await store.applications.list()).map((app) => app.name);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('repo-create');
  });
});

describe('DeploymentRepository', () => {
  const deployment = (appId: string, version: string) => ({
    app_name: 'shop',
    app_id: appId,
    status: 'pending' as const,
    package_version: version,
    gray_machine_id: 'm1',
    platform: 'local' as const,
    node_deployments: [],
    previous_version: '',
  });

  it('lists an application’s deployments newest first', async () => {
    await store.deployments.create(deployment('app-list', 'v1'), 1_000);
    await store.deployments.create(deployment('app-list', 'v2'), 3_000);
    await store.deployments.create(deployment('app-list', 'v3'), 2_000);
    await store.deployments.create(deployment('app-elsewhere', 'v9'), 4_000);
    const versions = (await store.deployments.list({ app_id: 'app-list' })).map(
      (d) => d.package_version,
    );
    expect(versions).toEqual(['v2', 'v3', 'v1']);
    expect(await store.deployments.list({ app_id: 'app-list', limit: 1 })).toHaveLength(1);
  });

  it('finds the active release and sets status only from an expected state', async () => {
    const created = await store.deployments.create(deployment('app-active', 'v1'));
    expect((await store.deployments.findActive('app-active'))?.id).toBe(created.id);

    const deploying = await store.deployments.update(created.id, { status: 'deploying' }, [
      'pending',
    ]);
    expect(deploying.status).toBe('deploying');
    expect(
      await failureOf(store.deployments.update(created.id, { status: 'succeeded' }, ['pending'])),
    ).toBe(FailureType.Conflict);

    await store.deployments.update(created.id, { status: 'succeeded' }, ['deploying']);
    expect(await store.deployments.findActive('app-active')).toBeUndefined();
    expect(await failureOf(store.deployments.get('0'.repeat(24)))).toBe(FailureType.NotFound);
  });
});

describe('PackageRepository', () => {
  const record = (version: string, createdAt: number) => ({
    app_id: 'app-packages',
    app_name: 'shop',
    version,
    key: `shop/shop-${version}.tar.gz`,
    url: `http://127.0.0.1/packages/shop-${version}.tar.gz`,
    md5: 'f'.repeat(32),
    size: 1234,
    created_at: createdAt,
  });

  it('keeps one package per version and finds it by version', async () => {
    const stored = await store.packages.create(record('v1.0.0', 1_000));
    await store.packages.create(record('v1.1.0', 2_000));
    expect(await failureOf(store.packages.create(record('v1.0.0', 3_000)))).toBe(
      FailureType.Conflict,
    );
    expect(await store.packages.findByVersion('app-packages', 'v1.0.0')).toEqual(stored);
    expect(await store.packages.findByVersion('app-packages', 'v9')).toBeUndefined();
    expect((await store.packages.listByApp('app-packages')).map((p) => p.version)).toEqual([
      'v1.1.0',
      'v1.0.0',
    ]);
  });
});

describe('AnalysisReportRepository', () => {
  it('keeps one report per deployment, the newest analysis replacing the old', async () => {
    const report = sampleReport();
    await store.analysisReports.save(report);
    await store.analysisReports.save({ ...report, analyzer: 'llm', createdTime: 2_000 });
    expect(await store.analysisReports.findByDeployment('dep-1')).toEqual({
      ...report,
      analyzer: 'llm',
      createdTime: 2_000,
    });
    expect(await store.analysisReports.listByApp('app-reports')).toHaveLength(1);
    expect(await store.analysisReports.findByDeployment('dep-2')).toBeUndefined();
  });
});

describe('indexes', () => {
  it('are recognised as duplicate-key refusals on insert and on update alike', async () => {
    const { isDuplicateKey } = await import('../../activities/db/documents');
    const applications = store.db.collection<{ _id: string; name: string }>('applications');
    await applications.insertOne({ _id: 'dup-a', name: 'dup-a' });
    await applications.insertOne({ _id: 'dup-b', name: 'dup-b' });
    const insert = await applications
      .insertOne({ _id: 'dup-c', name: 'dup-a' })
      .catch((e: unknown) => e);
    const update = await applications
      .updateOne({ _id: 'dup-b' }, { $set: { name: 'dup-a' } })
      .catch((e: unknown) => e);
    expect(isDuplicateKey(insert)).toBe(true);
    expect(isDuplicateKey(update)).toBe(true);
    expect(isDuplicateKey(new Error('UNIQUE constraint failed'))).toBe(false);
  });

  it('has a unique application name and deployments by app and time', async () => {
    const applicationIndexes = await store.db.collection('applications').indexes();
    expect(applicationIndexes.find((index) => index.name === 'name_unique')).toMatchObject({
      key: { name: 1 },
      unique: true,
    });
    const deploymentIndexes = await store.db.collection('deployments').indexes();
    expect(deploymentIndexes.find((index) => index.name === 'app_time')?.key).toEqual({
      app_id: 1,
      createdTime: -1,
    });
  });
});
