import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { FailureType, RelguardError } from '../../domain/errors';
import {
  createKodoClient,
  KodoTransportError,
  type KodoClient,
  type KodoResponse,
} from './kodo-client';
import type { Logger } from '../logger';
import { assertMeasured, type PackageDigests, type PackageStore, type PutOptions } from './types';

export interface KodoPackageStoreOptions {
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** The bucket's download domain with its scheme, e.g. https://dl.example.com. */
  domain: string;
  /** Private buckets hand out signed download URLs. */
  private: boolean;
  /** Files at least this large go up in resumable v2 parts instead of one form upload. */
  resumableThresholdBytes: number;
  /** Part size of resumable uploads; Kodo accepts 1 MiB to 1 GiB. Default 4 MiB. */
  partSizeBytes?: number;
  /** Upload host with its scheme; by default the SDK finds it from the bucket's region. */
  upHost?: string;
  /** Region query (uc) host with its scheme, for private Kodo deployments and tests. */
  ucHost?: string;
  /** How long an upload token stays valid; it must outlive the slowest upload. Default 1 h. */
  uploadTokenTtlSeconds?: number;
  /** How long one upload may take before it fails (PACKAGE_UPLOAD_TIMEOUT_SECONDS). */
  uploadTimeoutMs?: number;
}

const MiB = 1024 * 1024;
/** PACKAGE_UPLOAD_TIMEOUT_SECONDS' default. */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 900_000;
/** Kodo's "file exists": an insertOnly upload of a key that holds an object. */
const KEY_EXISTS_STATUS = 614;
/** Kodo's etag hashes the content in blocks of this size. */
const ETAG_BLOCK_BYTES = 4 * MiB;

/** Answers no retry can fix: bad credentials, a forbidden operation, a missing bucket. */
const CONFIG_STATUSES = new Set([401, 403, 631]);
/** Kodo's "no such file or directory" (612), and a plain 404 from gateways in front of it. */
const MISSING_STATUSES = new Set([404, 612]);

/** Packages in a Qiniu Kodo bucket, through the `qiniu` SDK. */
export class KodoPackageStore implements PackageStore {
  readonly kind = 'kodo';
  private readonly client: KodoClient;
  private readonly domain: string;
  private readonly logger: Logger | undefined;

  constructor(
    private readonly options: KodoPackageStoreOptions,
    deps: { client?: KodoClient; logger?: Logger } = {},
  ) {
    this.client = deps.client ?? createKodoClient(options);
    this.logger = deps.logger;
    this.domain = options.domain.replace(/\/+$/, '');
  }

  async put(
    key: string,
    filePath: string,
    digests: PackageDigests,
    options: PutOptions = {},
  ): Promise<'stored' | 'existed'> {
    options.signal?.throwIfAborted();
    const file = await measure(filePath, key);
    assertMeasured(file, digests, key, filePath);
    const timeoutMs = this.options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal =
      options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const token = this.client.uploadToken(key, this.options.uploadTokenTtlSeconds ?? 3600);
    const resumable = file.size >= this.options.resumableThresholdBytes;
    const partSize = this.options.partSizeBytes ?? 4 * MiB;
    const parts = Math.max(1, Math.ceil(file.size / partSize));
    let partsSent = 0;
    const started = Date.now();
    options.onProgress?.(`uploading ${key} to Kodo`);
    const upload = resumable
      ? this.client.resumableUpload(token, key, filePath, {
          partSize,
          onPart: () => {
            signal.throwIfAborted();
            partsSent++;
            options.onProgress?.(`uploading ${key} to Kodo: part ${partsSent} of ${parts} sent`);
          },
        })
      : this.client.formUpload(token, key, filePath);
    let response: KodoResponse;
    try {
      // A form upload cannot be stopped half way; an aborted caller stops waiting for it.
      response = await this.kodoCall(`upload of ${key}`, untilAborted(upload, signal));
    } catch (error) {
      if (timeout.aborted && options.signal?.aborted !== true) {
        throw new RelguardError(
          FailureType.Unavailable,
          `Kodo upload of ${key} to bucket ${this.options.bucket} did not finish within ${timeoutMs / 1000} s (PACKAGE_UPLOAD_TIMEOUT_SECONDS)`,
          { bucket: this.options.bucket, key, timeout_ms: timeoutMs },
        );
      }
      throw error;
    }
    if (response.status === KEY_EXISTS_STATUS) return await this.sameObject(key, file);
    const body = asRecord(response.body);
    if (response.status !== 200 || typeof body?.hash !== 'string' || body.key !== key) {
      throw kodoError(`upload of ${key}`, response);
    }
    if (body.hash !== file.etag) {
      throw new RelguardError(
        FailureType.Unavailable,
        `Kodo stored ${key} with etag ${body.hash}, not the ${file.etag} of the file sent: the upload was damaged on its way`,
        { bucket: this.options.bucket, key, etag: body.hash, expected_etag: file.etag },
      );
    }
    this.logger?.info(
      { bucket: this.options.bucket, key, size: file.size, resumable, ms: Date.now() - started },
      'package uploaded to Kodo',
    );
    return 'stored';
  }

  /** Kodo refused the upload because the key exists: fine if it holds these very bytes. */
  private async sameObject(key: string, file: MeasuredFile): Promise<'existed'> {
    const response = await this.kodoCall(`stat of ${key}`, this.client.stat(key));
    const body = asRecord(response.body);
    if (response.status !== 200 || typeof body?.hash !== 'string') {
      throw kodoError(`stat of ${key}`, response);
    }
    if (body.hash === file.etag && body.fsize === file.size) return 'existed';
    throw new RelguardError(
      FailureType.Conflict,
      `package key ${key} in bucket ${this.options.bucket} holds other bytes (Kodo etag ${body.hash}, ${String(body.fsize)} bytes) than this package (etag ${file.etag}, SHA-256 ${file.sha256}, ${file.size} bytes): a stored package is never overwritten`,
      {
        bucket: this.options.bucket,
        key,
        stored_etag: body.hash,
        etag: file.etag,
        sha256: file.sha256,
      },
    );
  }

  url(key: string): string {
    return `${this.domain}/${encodeURI(key)}`;
  }

  downloadUrl(key: string, ttlSeconds: number): Promise<string> {
    if (!this.options.private) return Promise.resolve(this.url(key));
    const deadline = Math.floor(Date.now() / 1000) + ttlSeconds;
    return Promise.resolve(this.client.privateDownloadUrl(this.domain, key, deadline));
  }

  async exists(key: string): Promise<boolean> {
    const response = await this.kodoCall(`stat of ${key}`, this.client.stat(key));
    if (response.status === 200) return true;
    if (MISSING_STATUSES.has(response.status)) return false;
    throw kodoError(`stat of ${key}`, response);
  }

  private async kodoCall(what: string, call: Promise<KodoResponse>): Promise<KodoResponse> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof KodoTransportError) {
        throw new RelguardError(
          FailureType.Unavailable,
          `Kodo ${what} in bucket ${this.options.bucket} failed: ${error.message}`,
          { bucket: this.options.bucket, code: error.code },
        );
      }
      throw error;
    }
  }
}

function kodoError(what: string, response: KodoResponse): RelguardError {
  const body = asRecord(response.body);
  const kodoMessage = typeof body?.error === 'string' ? body.error : 'unexpected answer';
  const type = CONFIG_STATUSES.has(response.status)
    ? FailureType.BadConfig
    : FailureType.Unavailable;
  const hint =
    type === FailureType.BadConfig ? ' (check KODO_ACCESS_KEY, KODO_SECRET_KEY, KODO_BUCKET)' : '';
  const errorCode = typeof body?.error_code === 'string' ? body.error_code : undefined;
  return new RelguardError(
    type,
    `Kodo ${what} failed with ${response.status} ${kodoMessage}${hint}`,
    { status: response.status, error: kodoMessage, errorCode, reqId: response.reqId },
  );
}

interface MeasuredFile {
  size: number;
  sha256: string;
  /** Kodo's etag (qetag): SHA-1 of the content up to 4 MiB, else of its 4 MiB blocks' SHA-1s. */
  etag: string;
}

/** The file's size, SHA-256 and Kodo etag, in one read. */
async function measure(filePath: string, key: string): Promise<MeasuredFile> {
  const sha256 = createHash('sha256');
  const blockHashes: Buffer[] = [];
  let block = createHash('sha1');
  let inBlock = 0;
  let size = 0;
  try {
    for await (const data of createReadStream(filePath)) {
      let chunk = data as Buffer;
      sha256.update(chunk);
      size += chunk.length;
      while (chunk.length > 0) {
        const taken = chunk.subarray(0, ETAG_BLOCK_BYTES - inBlock);
        block.update(taken);
        inBlock += taken.length;
        chunk = chunk.subarray(taken.length);
        if (inBlock === ETAG_BLOCK_BYTES) {
          blockHashes.push(block.digest());
          block = createHash('sha1');
          inBlock = 0;
        }
      }
    }
  } catch (error) {
    throw new RelguardError(FailureType.BadPackage, `package file ${filePath} cannot be read`, {
      key,
      filePath,
      code: (error as { code?: unknown }).code,
    });
  }
  if (inBlock > 0 || blockHashes.length === 0) blockHashes.push(block.digest());
  const digest =
    blockHashes.length === 1
      ? Buffer.concat([Buffer.from([0x16]), ...blockHashes])
      : Buffer.concat([
          Buffer.from([0x96]),
          createHash('sha1').update(Buffer.concat(blockHashes)).digest(),
        ]);
  const etag = digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return { size, sha256: sha256.digest('hex'), etag };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined;
}

async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await work;
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  // The abandoned upload may still fail later; nobody is left to hear it.
  work.catch(() => {});
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
