import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FailureType, RelguardError } from '../../domain/errors';
import { assertMeasured, type PackageDigests, type PackageStore, type PutOptions } from './types';
import { checkSignature, signedQuery, type SignatureCheck } from './signed-url';

export interface LocalPackageStoreOptions {
  /** The folder that holds the packages. */
  dir: string;
  /** Where the api serves that folder, e.g. http://127.0.0.1:3000/packages. */
  baseUrl: string;
  /**
   * The HMAC key of download URLs (PACKAGE_URL_SECRET, or loadPackageUrlSecret's kept one):
   * the api serves a package only to a URL signed with it.
   */
  urlSecret: string;
  /** The clock URLs expire by, in ms; Date.now by default. */
  now?: () => number;
}

/**
 * The file a key names inside `dir`, or undefined when the key would leave it. The api serves
 * package downloads through this, so a key is untrusted input here.
 */
export function resolvePackagePath(dir: string, key: string): string | undefined {
  if (key === '' || key.includes('\0') || key.includes('\\') || isAbsolute(key)) return undefined;
  const root = resolve(dir);
  const target = resolve(root, key);
  const inside = relative(root, target);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    return undefined;
  }
  return target;
}

/** Packages in a folder on this host, served over HTTP by the api. */
export class LocalPackageStore implements PackageStore {
  readonly kind = 'local';
  private readonly baseUrl: string;

  constructor(private readonly options: LocalPackageStoreOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async put(
    key: string,
    filePath: string,
    digests: PackageDigests,
    options: PutOptions = {},
  ): Promise<'stored' | 'existed'> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    // Same folder as the target, so that the link below puts the whole file there at once.
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      options.onProgress?.(`storing ${key}`);
      const copied = createHash('sha256');
      let size = 0;
      await pipeline(
        createReadStream(filePath),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            copied.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(temp),
        { signal: options.signal },
      );
      assertMeasured({ sha256: copied.digest('hex'), size }, digests, key, filePath);
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      // link() fails when the key exists: two writers of one key never replace each other's file.
      try {
        await link(temp, target);
        return 'stored';
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const stored = await sha256Of(target);
      if (stored === digests.sha256) return 'existed';
      throw new RelguardError(
        FailureType.Conflict,
        `package key ${key} holds other bytes (SHA-256 ${stored}) than this package (SHA-256 ${digests.sha256}): a stored package is never overwritten`,
        { key, stored_sha256: stored, sha256: digests.sha256 },
      );
    } catch (error) {
      throw storeError(error, key, filePath);
    } finally {
      await rm(temp, { force: true });
    }
  }

  url(key: string): string {
    return `${this.baseUrl}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** The URL signed to expire in `ttlSeconds`: the only kind the api serves (api/package-files.ts). */
  downloadUrl(key: string, ttlSeconds: number): Promise<string> {
    const expires = Math.floor(this.now() / 1000) + ttlSeconds;
    return Promise.resolve(`${this.url(key)}?${signedQuery(this.options.urlSecret, key, expires)}`);
  }

  /** Whether a request's `expires` and `signature` let it download `key` now. */
  checkDownload(
    key: string,
    query: { expires: string | undefined; signature: string | undefined },
  ): SignatureCheck {
    return checkSignature(this.options.urlSecret, key, query, Math.floor(this.now() / 1000));
  }

  /** The folder the packages are in, for the api to serve them from. */
  get dir(): string {
    return this.options.dir;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw storeError(error, key, undefined);
    }
  }

  private pathOf(key: string): string {
    const path = resolvePackagePath(this.options.dir, key);
    if (path === undefined) {
      throw new RelguardError(
        FailureType.BadConfig,
        `package key ${JSON.stringify(key)} leaves the package folder`,
        { key },
      );
    }
    return path;
  }
}

function storeError(error: unknown, key: string, filePath: string | undefined): unknown {
  if (error instanceof RelguardError || (error instanceof Error && error.name === 'AbortError')) {
    return error;
  }
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (filePath !== undefined && code === 'ENOENT' && message.includes(filePath)) {
    return new RelguardError(FailureType.BadPackage, `package file ${filePath} does not exist`, {
      key,
      filePath,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new RelguardError(FailureType.BadConfig, `package folder not writable: ${message}`, {
      key,
      code,
    });
  }
  // A full disk may clear up; a retry is the right answer to the rest.
  return new RelguardError(FailureType.Unavailable, `local package store: ${message}`, {
    key,
    code,
  });
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
