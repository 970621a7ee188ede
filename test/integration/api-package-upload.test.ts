import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { LocalPackageStore } from '../../activities/package-store/local';
import { createApp } from '../../api/app';
import { ApplicationInput, type PackageRecord } from '../../domain';
import { tokenFor, withToken, type TestApi } from '../support/api-token';
import { startTestStore, type TestStore } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';

/**
 * A package built elsewhere (a CI job) uploaded through the api into the configured store:
 * checked against the MD5 the uploader gives, recorded once, never half-stored.
 */
let testStore: TestStore;
let dir: string;
let deployer: TestApi;
let viewer: TestApi;
let appId: string;

beforeAll(async () => {
  testStore = await startTestStore();
  dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-uploads-'));
  const app = createApp({
    store: testStore.store,
    temporal: { check: () => Promise.resolve(true) },
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
    packageStore: new LocalPackageStore({
      dir,
      baseUrl: 'http://127.0.0.1:1/packages',
      urlSecret: 'upload-test-url-secret-0123456789abcdef',
    }),
    maxPackageBytes: 64 * 1024,
  });
  deployer = withToken(app, await tokenFor(testStore.store, 'deployer', 'ci'));
  viewer = withToken(app, await tokenFor(testStore.store, 'viewer'));
  appId = (
    await testStore.store.applications.create(
      ApplicationInput.parse({
        name: 'shop',
        deploy_path: '/srv/shop',
        start_cmd: 'node main.js',
        machines: [{ id: 'm1', host: '127.0.0.1', port: 4001 }],
      }),
    )
  ).id;
});
afterAll(async () => {
  await testStore?.close();
  await rm(dir, { recursive: true, force: true });
});

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function upload(api: TestApi, version: string, bytes: Buffer, query = '') {
  return api.request(`/api/v1/applications/${appId}/packages/${version}${query}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/gzip' },
    body: bytes,
  });
}

describe('PUT /api/v1/applications/:id/packages/:version', () => {
  it('stores the package, records its MD5 and size, and refuses a second upload of the version', async () => {
    const bytes = randomBytes(20_000);
    const response = await upload(deployer, 'v1.0.0', bytes, `?md5=${md5(bytes)}`);
    expect(response.status).toBe(201);
    const record = (await response.json()) as PackageRecord;
    expect(record).toMatchObject({
      app_name: 'shop',
      version: 'v1.0.0',
      // Content-addressed: no other package of the version can ever be stored under it.
      key: `shop/${sha256(bytes)}/shop-v1.0.0.tar.gz`,
      md5: md5(bytes),
      sha256: sha256(bytes),
      size: 20_000,
    });
    expect(md5(await readFile(path.join(dir, record.key)))).toBe(md5(bytes));
    const listed = await deployer.request(`/api/v1/applications/${appId}/packages`);
    expect(((await listed.json()) as { items: PackageRecord[] }).items[0]?.md5).toBe(md5(bytes));

    const again = await upload(deployer, 'v1.0.0', randomBytes(10));
    expect(again.status).toBe(409);
    expect(JSON.stringify(await again.json())).toContain(`SHA-256 ${sha256(bytes)}`);
    expect(md5(await readFile(path.join(dir, record.key)))).toBe(md5(bytes));
  });

  it('refuses a package whose MD5 is not the one given, storing nothing', async () => {
    const response = await upload(deployer, 'v1.1.0', randomBytes(1000), `?md5=${'0'.repeat(32)}`);
    expect(response.status).toBe(422);
    expect(JSON.stringify(await response.json())).toContain('nothing was stored');
    expect(await testStore.store.packages.findByVersion(appId, 'v1.1.0')).toBeUndefined();
    await expect(readFile(path.join(dir, 'shop/shop-v1.1.0.tar.gz'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a package larger than the limit (413) and an empty one (422), storing nothing', async () => {
    expect((await upload(deployer, 'v1.2.0', randomBytes(70 * 1024))).status).toBe(413);
    expect((await upload(deployer, 'v1.2.0', Buffer.alloc(0))).status).toBe(422);
    expect(await testStore.store.packages.findByVersion(appId, 'v1.2.0')).toBeUndefined();
  });

  it('needs the deployer role, and names a bad version or MD5', async () => {
    expect((await upload(viewer, 'v1.3.0', randomBytes(10))).status).toBe(403);
    const badVersion = await upload(deployer, 'v1%2F..%2Fx', randomBytes(10));
    expect(badVersion.status).toBe(400);
    const badMd5 = await upload(deployer, 'v1.3.0', randomBytes(10), '?md5=xyz');
    expect(badMd5.status).toBe(400);
    expect(JSON.stringify(await badMd5.json())).toContain('md5');
  });
});
