import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { LocalPackageStore, resolvePackagePath } from '../../activities/package-store/local';

function digestsOf(bytes: Buffer) {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

describe('LocalPackageStore', () => {
  let root: string;
  let dir: string;
  let store: LocalPackageStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'relguard-local-store-'));
    dir = path.join(root, 'packages');
    store = new LocalPackageStore({
      dir,
      baseUrl: 'http://127.0.0.1:3000/packages/',
      urlSecret: 'local-test-url-secret-0123456789abcdef',
      now: () => Date.UTC(2026, 0, 1),
    });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function fileOf(bytes: Buffer): Promise<string> {
    const filePath = path.join(root, randomBytes(6).toString('hex'));
    await writeFile(filePath, bytes);
    return filePath;
  }

  it('stores a package once: the same bytes again are fine, other bytes are refused', async () => {
    const key = 'demo/demo-1.0.0.tar.gz';
    expect(await store.exists(key)).toBe(false);
    const first = randomBytes(5000);

    expect(await store.put(key, await fileOf(first), digestsOf(first))).toBe('stored');

    expect(await store.exists(key)).toBe(true);
    expect(await readFile(path.join(dir, key))).toEqual(first);
    expect(await store.put(key, await fileOf(first), digestsOf(first))).toBe('existed');
    const second = randomBytes(7000);
    const refused = await store
      .put(key, await fileOf(second), digestsOf(second))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RelguardError);
    expect((refused as RelguardError).type).toBe(FailureType.Conflict);
    expect((refused as RelguardError).message).toContain(digestsOf(first).sha256);
    expect((refused as RelguardError).message).toContain(digestsOf(second).sha256);
    expect(await readFile(path.join(dir, key))).toEqual(first);
    // The temporary copies never stay behind.
    expect(await readdir(path.join(dir, 'demo'))).toEqual(['demo-1.0.0.tar.gz']);
  });

  it('refuses a file whose bytes are not the digests measured for it', async () => {
    const key = 'demo/demo-1.1.0.tar.gz';
    const failure = await store
      .put(key, await fileOf(randomBytes(100)), digestsOf(randomBytes(100)))
      .catch((error: unknown) => error);
    expect((failure as RelguardError).type).toBe(FailureType.BadPackage);
    expect(await store.exists(key)).toBe(false);
  });

  it('serves packages under its base URL, to URLs it signed that have not expired', async () => {
    const key = 'demo/demo-1.0.0.tar.gz';
    expect(store.url(key)).toBe('http://127.0.0.1:3000/packages/demo/demo-1.0.0.tar.gz');
    const signed = new URL(await store.downloadUrl(key, 60));
    expect(`${signed.origin}${signed.pathname}`).toBe(store.url(key));
    const expires = signed.searchParams.get('expires') ?? undefined;
    const signature = signed.searchParams.get('signature') ?? undefined;
    expect(expires).toBe(String(Date.UTC(2026, 0, 1) / 1000 + 60));
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(store.checkDownload(key, { expires, signature })).toEqual({ ok: true });
    // The same signature says nothing of another key, or of a later expiry.
    expect(store.checkDownload('demo/demo-2.0.0.tar.gz', { expires, signature })).toMatchObject({
      ok: false,
      reason: 'tampered',
    });
    expect(
      store.checkDownload(key, { expires: String(Number(expires) + 3600), signature }),
    ).toMatchObject({ ok: false, reason: 'tampered' });
    expect(store.checkDownload(key, { expires: undefined, signature: undefined })).toMatchObject({
      ok: false,
      reason: 'unsigned',
    });
    const other = new LocalPackageStore({
      dir,
      baseUrl: 'http://127.0.0.1:3000/packages',
      urlSecret: 'another-secret-0123456789abcdef0123456789',
    });
    expect(other.checkDownload(key, { expires, signature })).toMatchObject({ reason: 'tampered' });
  });

  it('says a URL it signed has expired once its time has passed', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clocked = new LocalPackageStore({
      dir,
      baseUrl: 'http://127.0.0.1:3000/packages',
      urlSecret: 'local-test-url-secret-0123456789abcdef',
      now: () => now,
    });
    const signed = new URL(await clocked.downloadUrl('demo/demo-1.0.0.tar.gz', 60));
    const query = {
      expires: signed.searchParams.get('expires') ?? undefined,
      signature: signed.searchParams.get('signature') ?? undefined,
    };
    now += 60_000;
    expect(clocked.checkDownload('demo/demo-1.0.0.tar.gz', query)).toEqual({ ok: true });
    now += 1000;
    expect(clocked.checkDownload('demo/demo-1.0.0.tar.gz', query)).toMatchObject({
      ok: false,
      reason: 'expired',
      message: expect.stringContaining('expired at 2026-01-01T00:01:00.000Z') as unknown,
    });
  });

  it('refuses keys that leave the folder', async () => {
    const failure = await store
      .put('../escape.tar.gz', await fileOf(randomBytes(10)), digestsOf(randomBytes(10)))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RelguardError);
    expect((failure as RelguardError).type).toBe(FailureType.BadConfig);
    expect(await readdir(root)).not.toContain('escape.tar.gz');
    await expect(store.exists('../../etc/passwd')).rejects.toThrow(/leaves the package folder/);
  });

  it('reports a missing package file as a bad package', async () => {
    const failure = await store
      .put('demo/demo-1.tar.gz', path.join(root, 'missing.tar.gz'), digestsOf(Buffer.alloc(0)))
      .catch((error: unknown) => error);
    expect((failure as RelguardError).type).toBe(FailureType.BadPackage);
    expect(await store.exists('demo/demo-1.tar.gz')).toBe(false);
  });
});

describe('resolvePackagePath', () => {
  const dir = '/srv/relguard/packages';

  it.each([
    ['demo/demo-1.0.0.tar.gz', '/srv/relguard/packages/demo/demo-1.0.0.tar.gz'],
    ['demo/./demo-1.0.0.tar.gz', '/srv/relguard/packages/demo/demo-1.0.0.tar.gz'],
  ])('resolves %j inside the folder', (key, expected) => {
    expect(resolvePackagePath(dir, key)).toBe(expected);
  });

  it.each([
    '',
    '.',
    '..',
    '../secrets',
    'demo/../../secrets',
    '/etc/passwd',
    'demo\\..\\..\\secrets',
    'demo/\0.tar.gz',
    '../packages-other/x.tar.gz',
  ])('refuses %j', (key) => {
    expect(resolvePackagePath(dir, key)).toBeUndefined();
  });
});
