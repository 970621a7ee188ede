import { stat } from 'node:fs/promises';
import { FailureType, RelguardError } from '../../domain/errors';
import {
  createKodoClient,
  KodoTransportError,
  type KodoClient,
  type KodoResponse,
} from './kodo-client';
import type { Logger } from '../logger';
import type { PackageStore } from './types';

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
}

const MiB = 1024 * 1024;

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

  async put(key: string, filePath: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    signal?.throwIfAborted();
    const size = await fileSize(filePath, key);
    const token = this.client.uploadToken(key, this.options.uploadTokenTtlSeconds ?? 3600);
    const resumable = size >= this.options.resumableThresholdBytes;
    const started = Date.now();
    const upload = resumable
      ? this.client.resumableUpload(token, key, filePath, {
          partSize: this.options.partSizeBytes ?? 4 * MiB,
          onPart: () => signal?.throwIfAborted(),
        })
      : this.client.formUpload(token, key, filePath);
    // A form upload cannot be stopped half way; an aborted caller stops waiting for it.
    const response = await this.kodoCall(`upload of ${key}`, untilAborted(upload, signal));
    const body = asRecord(response.body);
    if (response.status !== 200 || typeof body?.hash !== 'string' || body.key !== key) {
      throw kodoError(`upload of ${key}`, response);
    }
    this.logger?.info(
      { bucket: this.options.bucket, key, size, resumable, ms: Date.now() - started },
      'package uploaded to Kodo',
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

async function fileSize(filePath: string, key: string): Promise<number> {
  try {
    return (await stat(filePath)).size;
  } catch (error) {
    throw new RelguardError(FailureType.BadPackage, `package file ${filePath} cannot be read`, {
      key,
      filePath,
      code: (error as { code?: unknown }).code,
    });
  }
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
