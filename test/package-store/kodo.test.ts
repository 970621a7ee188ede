import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailureType } from '../../domain/errors';
import {
  KodoPackageStore,
  type KodoPackageStoreOptions,
} from '../../activities/package-store/kodo';
import { startFakeKodo, type FakeKodo } from '../support/fake-kodo';
import { relguardFailureOf } from '../support/failures';

const MiB = 1024 * 1024;

describe('KodoPackageStore against a fake Kodo', () => {
  let kodo: FakeKodo;
  let dir: string;

  beforeAll(async () => {
    kodo = await startFakeKodo();
    dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-kodo-'));
  });
  afterAll(async () => {
    await kodo.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    kodo.fail = undefined;
    kodo.onRequest = undefined;
    kodo.requests.length = 0;
  });

  function options(overrides: Partial<KodoPackageStoreOptions> = {}): KodoPackageStoreOptions {
    return {
      accessKey: kodo.accessKey,
      secretKey: kodo.secretKey,
      bucket: kodo.bucket,
      domain: kodo.url,
      private: true,
      resumableThresholdBytes: MiB,
      partSizeBytes: MiB,
      // Every Kodo host comes from the region query, which the fake answers with itself.
      ucHost: kodo.url,
      ...overrides,
    };
  }

  async function fileOf(bytes: Buffer): Promise<string> {
    const filePath = path.join(dir, randomBytes(6).toString('hex'));
    await writeFile(filePath, bytes);
    return filePath;
  }

  const kinds = (): string[] => kodo.requests.map((request) => request.kind);

  it('uploads a file below the threshold in one form upload', async () => {
    const store = new KodoPackageStore(options());
    const bytes = randomBytes(100_000);

    await store.put('demo/demo-1.0.0.tar.gz', await fileOf(bytes));

    const stored = kodo.objects.get('demo/demo-1.0.0.tar.gz');
    expect(stored?.data.equals(bytes)).toBe(true);
    expect(stored?.mimeType).toBe('application/gzip');
    expect(kinds()).toContain('form-upload');
    expect(kinds().filter((kind) => kind.startsWith('resumable'))).toEqual([]);
  });

  it('uploads a file at or above the threshold in resumable v2 parts', async () => {
    const store = new KodoPackageStore(options());
    const bytes = randomBytes(3 * MiB);

    await store.put('demo/demo-2.0.0.tar.gz', await fileOf(bytes));

    expect(kodo.objects.get('demo/demo-2.0.0.tar.gz')?.data.equals(bytes)).toBe(true);
    expect(kinds().filter((kind) => kind !== 'region-query')).toEqual([
      'resumable-init',
      'resumable-part',
      'resumable-part',
      'resumable-part',
      'resumable-complete',
    ]);
  });

  it('overwrites a key that is stored again', async () => {
    const store = new KodoPackageStore(options());
    const key = 'demo/demo-3.0.0.tar.gz';
    await store.put(key, await fileOf(randomBytes(1000)));
    const second = randomBytes(2000);

    await store.put(key, await fileOf(second));

    expect(kodo.objects.get(key)?.data.equals(second)).toBe(true);
  });

  it('tells whether a key exists', async () => {
    const store = new KodoPackageStore(options());
    await store.put('demo/demo-4.0.0.tar.gz', await fileOf(randomBytes(10)));

    expect(await store.exists('demo/demo-4.0.0.tar.gz')).toBe(true);
    expect(await store.exists('demo/demo-9.9.9.tar.gz')).toBe(false);
    expect(kodo.requests.filter((request) => request.kind === 'stat')).toHaveLength(2);
  });

  it('hands out signed download URLs of a private bucket that expire', async () => {
    const store = new KodoPackageStore(options());
    const bytes = randomBytes(50_000);
    const key = 'demo/demo-5.0.0.tar.gz';
    await store.put(key, await fileOf(bytes));

    const signed = await store.downloadUrl(key, 60);
    const response = await fetch(signed);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);

    const expired = await fetch(await store.downloadUrl(key, -10));
    expect(expired.status).toBe(401);
    expect(await fetch(store.url(key))).toHaveProperty('status', 401);
    expect(await fetch(signed.replace(/e=\d+/, 'e=9999999999'))).toHaveProperty('status', 401);
  });

  it('hands out the plain URL of a public bucket', async () => {
    const publicKodo = await startFakeKodo({ private: false });
    try {
      const store = new KodoPackageStore(
        options({
          accessKey: publicKodo.accessKey,
          secretKey: publicKodo.secretKey,
          domain: `${publicKodo.url}/`,
          ucHost: publicKodo.url,
          private: false,
        }),
      );
      const bytes = randomBytes(1000);
      await store.put('demo/demo 6.tar.gz', await fileOf(bytes));

      const url = await store.downloadUrl('demo/demo 6.tar.gz', 60);
      expect(url).toBe(`${publicKodo.url}/demo/demo%206.tar.gz`);
      expect(url).toBe(store.url('demo/demo 6.tar.gz'));
      const response = await fetch(url);
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    } finally {
      await publicKodo.close();
    }
  });

  it('sends uploads to KODO_UP_HOST instead of the region answer', async () => {
    // The region names an upload host where nothing listens: only the override can succeed.
    const elsewhere = await startFakeKodo({ advertisedUpHost: '127.0.0.1:9' });
    try {
      const store = new KodoPackageStore(
        options({
          accessKey: elsewhere.accessKey,
          secretKey: elsewhere.secretKey,
          ucHost: elsewhere.url,
          upHost: elsewhere.upHost,
        }),
      );
      await store.put('demo/demo-7.0.0.tar.gz', await fileOf(randomBytes(10)));
      await store.put('demo/demo-7.0.1.tar.gz', await fileOf(randomBytes(MiB + 1)));

      expect(elsewhere.objects.has('demo/demo-7.0.0.tar.gz')).toBe(true);
      expect(elsewhere.objects.has('demo/demo-7.0.1.tar.gz')).toBe(true);
      expect(await store.exists('demo/demo-7.0.1.tar.gz')).toBe(true);
    } finally {
      await elsewhere.close();
    }
  });

  it('refuses a wrong secret key as bad configuration', async () => {
    const store = new KodoPackageStore(options({ secretKey: 'not-the-secret' }));

    const upload = await relguardFailureOf(
      store.put('demo/x.tar.gz', await fileOf(randomBytes(10))),
    );
    expect(upload.type).toBe(FailureType.BadConfig);
    expect(upload.message).toContain('401 bad token');
    expect((await relguardFailureOf(store.exists('demo/x.tar.gz'))).type).toBe(
      FailureType.BadConfig,
    );
    const resumable = await relguardFailureOf(
      store.put('demo/y.tar.gz', await fileOf(randomBytes(MiB))),
    );
    expect(resumable.type).toBe(FailureType.BadConfig);
    expect(kodo.objects.has('demo/x.tar.gz')).toBe(false);
  });

  it('refuses a bucket that Kodo does not know as bad configuration', async () => {
    const store = new KodoPackageStore(options({ bucket: 'no-such-bucket' }));

    const failure = await relguardFailureOf(
      store.put('demo/x.tar.gz', await fileOf(randomBytes(10))),
    );
    expect(failure.type).toBe(FailureType.BadConfig);
    expect(failure.message).toContain('631');
  });

  it('reports a Kodo outage as unavailable with its code and message', async () => {
    const store = new KodoPackageStore(options());
    kodo.fail = {
      status: 503,
      error: 'service unavailable',
      kinds: ['form-upload', 'resumable-init', 'stat'],
    };

    const upload = await relguardFailureOf(
      store.put('demo/z.tar.gz', await fileOf(randomBytes(10))),
    );
    expect(upload.type).toBe(FailureType.Unavailable);
    expect(upload.message).toContain('503 service unavailable');
    expect(upload.details).toMatchObject({ status: 503 });
    const stat = await relguardFailureOf(store.exists('demo/z.tar.gz'));
    expect(stat.type).toBe(FailureType.Unavailable);
  });

  it('reports an unreachable Kodo as unavailable', async () => {
    const gone = await startFakeKodo();
    await gone.close();
    const store = new KodoPackageStore(
      options({ ucHost: gone.url, upHost: gone.upHost, domain: gone.url }),
    );

    expect(
      (await relguardFailureOf(store.put('demo/a.tar.gz', await fileOf(randomBytes(10))))).type,
    ).toBe(FailureType.Unavailable);
    expect(
      (await relguardFailureOf(store.put('demo/b.tar.gz', await fileOf(randomBytes(MiB))))).type,
    ).toBe(FailureType.Unavailable);
    expect((await relguardFailureOf(store.exists('demo/a.tar.gz'))).type).toBe(
      FailureType.Unavailable,
    );
  });

  it('recovers from a failed region query', async () => {
    const store = new KodoPackageStore(options());
    kodo.fail = { status: 503, error: 'service unavailable', kinds: ['region-query'] };
    const failure = await relguardFailureOf(
      store.put('demo/d.tar.gz', await fileOf(randomBytes(10))),
    );
    expect(failure.type).toBe(FailureType.Unavailable);

    kodo.fail = undefined;
    await store.put('demo/d.tar.gz', await fileOf(randomBytes(10)));

    expect(kodo.objects.has('demo/d.tar.gz')).toBe(true);
  });

  it('stops a resumable upload between parts on abort', async () => {
    const store = new KodoPackageStore(options());
    const controller = new AbortController();
    kodo.onRequest = (request) => {
      if (request.kind === 'resumable-part') controller.abort();
    };

    await expect(
      store.put('demo/e.tar.gz', await fileOf(randomBytes(3 * MiB)), { signal: controller.signal }),
    ).rejects.toThrow(/abort/i);
    // The SDK learns of the abort when the part in flight is answered, and sends no more.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(kinds().filter((kind) => kind === 'resumable-part')).toHaveLength(1);
    expect(kinds()).not.toContain('resumable-complete');
    expect(kodo.objects.has('demo/e.tar.gz')).toBe(false);
  });

  it('does not start an upload for an aborted caller', async () => {
    const store = new KodoPackageStore(options());
    const controller = new AbortController();
    controller.abort();

    await expect(
      store.put('demo/c.tar.gz', await fileOf(randomBytes(10)), { signal: controller.signal }),
    ).rejects.toThrow(/abort/i);
    expect(kinds()).toEqual([]);
  });
});
