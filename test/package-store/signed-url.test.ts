import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPackageStore, LocalPackageStore } from '../../activities/package-store';
import { loadPackageUrlSecret, urlSecretFile } from '../../activities/package-store/signed-url';
import { ConfigError, loadConfig } from '../../domain/config';
import { FailureType, RelguardError } from '../../domain/errors';

describe('the secret that signs package URLs', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-url-secret-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is made once in the package folder, readable by its owner alone, and kept', async () => {
    const packages = path.join(dir, 'packages');
    const first = loadPackageUrlSecret({ dir: packages });
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    const file = path.join(packages, urlSecretFile);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // The api and the worker (another process, a restart) read the same one.
    expect(loadPackageUrlSecret({ dir: packages })).toBe(first);
    expect((await readFile(file, 'utf8')).trim()).toBe(first);
  });

  it('is PACKAGE_URL_SECRET when set, and then nothing is written', async () => {
    const secret = 'a-configured-secret-of-more-than-32-characters';
    expect(loadPackageUrlSecret({ dir, secret })).toBe(secret);
    await expect(stat(path.join(dir, urlSecretFile))).rejects.toThrow(/ENOENT/);

    const store = createPackageStore({
      ...loadConfig({ PACKAGE_URL_SECRET: secret }),
      PACKAGE_DIR: dir,
    });
    expect(store).toBeInstanceOf(LocalPackageStore);
    const signed = new URL(await store.downloadUrl('demo/demo-1.tar.gz', 60));
    const other = new LocalPackageStore({ dir, baseUrl: 'http://x/packages', urlSecret: secret });
    expect(
      other.checkDownload('demo/demo-1.tar.gz', {
        expires: signed.searchParams.get('expires') ?? undefined,
        signature: signed.searchParams.get('signature') ?? undefined,
      }),
    ).toEqual({ ok: true });
  });

  it('refuses a kept file others can read, naming the file and PACKAGE_URL_SECRET', async () => {
    loadPackageUrlSecret({ dir });
    await chmod(path.join(dir, urlSecretFile), 0o644);
    const error = (() => {
      try {
        loadPackageUrlSecret({ dir });
        return undefined;
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(RelguardError);
    expect((error as RelguardError).type).toBe(FailureType.BadConfig);
    expect((error as RelguardError).message).toContain(
      `${path.join(dir, urlSecretFile)} is readable by others (mode 644, not 600)`,
    );
    expect((error as RelguardError).message).toContain('set PACKAGE_URL_SECRET');
  });

  it('refuses a kept file that holds no usable secret', async () => {
    await writeFile(path.join(dir, urlSecretFile), 'short\n', { mode: 0o600 });
    expect(() => loadPackageUrlSecret({ dir })).toThrow(/holds fewer than 32 characters/);
  });

  it('refuses a PACKAGE_URL_SECRET shorter than 32 characters, naming it', () => {
    expect(() => loadConfig({ PACKAGE_URL_SECRET: 'too-short' })).toThrow(ConfigError);
    expect(() => loadConfig({ PACKAGE_URL_SECRET: 'too-short' })).toThrow(
      /PACKAGE_URL_SECRET: must be at least 32 characters/,
    );
  });
});
