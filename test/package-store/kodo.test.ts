import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailureType } from '../../domain/errors';
import {
  KodoPackageStore,
  type KodoPackageStoreOptions,
} from '../../activities/package-store/kodo';
import type { PutOptions } from '../../activities/package-store/types';
import { qetag, startFakeKodo, type FakeKodo } from '../support/fake-kodo';
import { relguardFailureOf } from '../support/failures';

const MiB = 1024 * 1024;

function digestsOf(bytes: Buffer) {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

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
    kodo.hold = undefined;
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

  async function upload(
    store: KodoPackageStore,
    key: string,
    bytes: Buffer,
    putOptions: PutOptions = {},
  ): Promise<'stored' | 'existed'> {
    return await store.put(key, await fileOf(bytes), digestsOf(bytes), putOptions);
  }

  const kinds = (): string[] => kodo.requests.map((request) => request.kind);

  it('uploads a file below the threshold in one form upload', async () => {
    const store = new KodoPackageStore(options());
    const bytes = randomBytes(100_000);

    await upload(store, 'demo/demo-1.0.0.tar.gz', bytes);

    const stored = kodo.objects.get('demo/demo-1.0.0.tar.gz');
    expect(stored?.data.equals(bytes)).toBe(true);
    expect(stored?.mimeType).toBe('application/gzip');
    expect(kinds()).toContain('form-upload');
    expect(kinds().filter((kind) => kind.startsWith('resumable'))).toEqual([]);
  });

  it('uploads a file at or above the threshold in resumable v2 parts', async () => {
    const store = new KodoPackageStore(options());
    const bytes = randomBytes(3 * MiB);

    await upload(store, 'demo/demo-2.0.0.tar.gz', bytes);

    expect(kodo.objects.get('demo/demo-2.0.0.tar.gz')?.data.equals(bytes)).toBe(true);
    expect(kinds().filter((kind) => kind !== 'region-query')).toEqual([
      'resumable-init',
      'resumable-part',
      'resumable-part',
      'resumable-part',
      'resumable-complete',
    ]);
  });

  it.each([
    ['a form upload', 1000, 2000],
    ['a resumable upload', 2 * MiB, 3 * MiB],
  ])(
    'never overwrites a key (insertOnly) in %s: the same bytes again are fine, others refused',
    async (_kind, firstSize, secondSize) => {
      const store = new KodoPackageStore(options());
      const key = `demo/demo-3.0.0-${firstSize}.tar.gz`;
      const first = randomBytes(firstSize);
      expect(await upload(store, key, first)).toBe('stored');

      expect(await upload(store, key, first)).toBe('existed');
      const second = randomBytes(secondSize);
      const refused = await relguardFailureOf(upload(store, key, second));

      expect(refused.type).toBe(FailureType.Conflict);
      expect(refused.message).toContain(key);
      expect(refused.message).toContain(digestsOf(second).sha256);
      expect(refused.message).toContain(qetag(first));
      expect(kodo.objects.get(key)?.data.equals(first)).toBe(true);
      // Kodo itself refused the second upload (614), not relguard before sending it.
      expect(kodo.requests.filter((request) => request.status === 614)).toHaveLength(2);
    },
  );

  it('refuses a file whose bytes are not the digests measured for it, sending nothing', async () => {
    const store = new KodoPackageStore(options());
    const failure = await relguardFailureOf(
      store.put(
        'demo/demo-3.1.0.tar.gz',
        await fileOf(randomBytes(100)),
        digestsOf(randomBytes(100)),
      ),
    );
    expect(failure.type).toBe(FailureType.BadPackage);
    expect(kinds()).toEqual([]);
  });

  it('fails an upload that does not finish within its timeout, naming the key', async () => {
    const store = new KodoPackageStore(options({ uploadTimeoutMs: 200 }));
    let release = (): void => {};
    kodo.hold = { kinds: ['form-upload'], until: new Promise((resolve) => (release = resolve)) };
    try {
      const failure = await relguardFailureOf(upload(store, 'demo/slow.tar.gz', randomBytes(10)));
      expect(failure.type).toBe(FailureType.Unavailable);
      expect(failure.message).toMatch(
        /Kodo upload of demo\/slow\.tar\.gz .* did not finish within 0.2 s \(PACKAGE_UPLOAD_TIMEOUT_SECONDS\)/,
      );
    } finally {
      release();
      kodo.hold = undefined;
    }
  });

  it('tells its caller of each part of a resumable upload', async () => {
    const store = new KodoPackageStore(options());
    const steps: string[] = [];
    await upload(store, 'demo/demo-3.2.0.tar.gz', randomBytes(3 * MiB), {
      onProgress: (step) => steps.push(step),
    });
    expect(steps).toEqual([
      'uploading demo/demo-3.2.0.tar.gz to Kodo',
      'uploading demo/demo-3.2.0.tar.gz to Kodo: part 1 of 3 sent',
      'uploading demo/demo-3.2.0.tar.gz to Kodo: part 2 of 3 sent',
      'uploading demo/demo-3.2.0.tar.gz to Kodo: part 3 of 3 sent',
    ]);
  });

  it('tells whether a key exists', async () => {
    const store = new KodoPackageStore(options());
    await upload(store, 'demo/demo-4.0.0.tar.gz', randomBytes(10));

    expect(await store.exists('demo/demo-4.0.0.tar.gz')).toBe(true);
    expect(await store.exists('demo/demo-9.9.9.tar.gz')).toBe(false);
    expect(kodo.requests.filter((request) => request.kind === 'stat')).toHaveLength(2);
  });

  it('hands out signed download URLs of a private bucket that expire', async () => {
    const store = new KodoPackageStore(options());
    const bytes = randomBytes(50_000);
    const key = 'demo/demo-5.0.0.tar.gz';
    await upload(store, key, bytes);

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
      await upload(store, 'demo/demo 6.tar.gz', bytes);

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
      await upload(store, 'demo/demo-7.0.0.tar.gz', randomBytes(10));
      await upload(store, 'demo/demo-7.0.1.tar.gz', randomBytes(MiB + 1));

      expect(elsewhere.objects.has('demo/demo-7.0.0.tar.gz')).toBe(true);
      expect(elsewhere.objects.has('demo/demo-7.0.1.tar.gz')).toBe(true);
      expect(await store.exists('demo/demo-7.0.1.tar.gz')).toBe(true);
    } finally {
      await elsewhere.close();
    }
  });

  it('refuses a wrong secret key as bad configuration', async () => {
    const store = new KodoPackageStore(options({ secretKey: 'not-the-secret' }));

    const refused = await relguardFailureOf(upload(store, 'demo/x.tar.gz', randomBytes(10)));
    expect(refused.type).toBe(FailureType.BadConfig);
    expect(refused.message).toContain('401 bad token');
    expect((await relguardFailureOf(store.exists('demo/x.tar.gz'))).type).toBe(
      FailureType.BadConfig,
    );
    const resumable = await relguardFailureOf(upload(store, 'demo/y.tar.gz', randomBytes(MiB)));
    expect(resumable.type).toBe(FailureType.BadConfig);
    expect(kodo.objects.has('demo/x.tar.gz')).toBe(false);
  });

  it('refuses a bucket that Kodo does not know as bad configuration', async () => {
    const store = new KodoPackageStore(options({ bucket: 'no-such-bucket' }));

    const failure = await relguardFailureOf(upload(store, 'demo/x.tar.gz', randomBytes(10)));
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

    const failed = await relguardFailureOf(upload(store, 'demo/z.tar.gz', randomBytes(10)));
    expect(failed.type).toBe(FailureType.Unavailable);
    expect(failed.message).toContain('503 service unavailable');
    expect(failed.details).toMatchObject({ status: 503 });
    const stat = await relguardFailureOf(store.exists('demo/z.tar.gz'));
    expect(stat.type).toBe(FailureType.Unavailable);
  });

  it('reports an unreachable Kodo as unavailable', async () => {
    const gone = await startFakeKodo();
    await gone.close();
    const store = new KodoPackageStore(
      options({ ucHost: gone.url, upHost: gone.upHost, domain: gone.url }),
    );

    expect((await relguardFailureOf(upload(store, 'demo/a.tar.gz', randomBytes(10)))).type).toBe(
      FailureType.Unavailable,
    );
    expect((await relguardFailureOf(upload(store, 'demo/b.tar.gz', randomBytes(MiB)))).type).toBe(
      FailureType.Unavailable,
    );
    expect((await relguardFailureOf(store.exists('demo/a.tar.gz'))).type).toBe(
      FailureType.Unavailable,
    );
  });

  it('recovers from a failed region query', async () => {
    const store = new KodoPackageStore(options());
    kodo.fail = { status: 503, error: 'service unavailable', kinds: ['region-query'] };
    const failure = await relguardFailureOf(upload(store, 'demo/d.tar.gz', randomBytes(10)));
    expect(failure.type).toBe(FailureType.Unavailable);

    kodo.fail = undefined;
    await upload(store, 'demo/d.tar.gz', randomBytes(10));

    expect(kodo.objects.has('demo/d.tar.gz')).toBe(true);
  });

  it('stops a resumable upload between parts on abort', async () => {
    const store = new KodoPackageStore(options());
    const controller = new AbortController();
    kodo.onRequest = (request) => {
      if (request.kind === 'resumable-part') controller.abort();
    };

    await expect(
      upload(store, 'demo/e.tar.gz', randomBytes(3 * MiB), { signal: controller.signal }),
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
      upload(store, 'demo/c.tar.gz', randomBytes(10), { signal: controller.signal }),
    ).rejects.toThrow(/abort/i);
    expect(kinds()).toEqual([]);
  });
});
