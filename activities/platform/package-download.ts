import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { FailureType, RelguardError } from '../../domain/errors';
import type { PackageRef } from './types';

/** Signed URLs carry credentials in their query: messages and logs name the object only. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === undefined ? cause.message : `${code} ${cause.message}`.trim();
  }
  return error.message;
}

/** PACKAGE_DOWNLOAD_TIMEOUT_SECONDS' default. */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 600_000;

/**
 * Streams the package into `file` and checks its size, SHA-256 (when recorded) and MD5. A
 * package that is not the one recorded is a BadPackage; a store that does not answer, or not
 * within `timeoutMs` (body included), is Unavailable (a retry may help). On any failure the
 * file is removed.
 */
export async function downloadPackage(
  pkg: PackageRef,
  file: string,
  options: { fetch: typeof fetch; signal?: AbortSignal; timeoutMs?: number },
): Promise<void> {
  const where = redactedUrl(pkg.url);
  const unavailable = (reason: string) =>
    new RelguardError(
      FailureType.Unavailable,
      `could not download package ${pkg.version} from ${where}: ${reason}`,
      { version: pkg.version, url: where },
    );
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal =
    options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  /** The caller's own cancellation passes as it is; the timeout is this download's failure. */
  const stopped = (error: unknown): Error | undefined => {
    if (options.signal?.aborted) return error instanceof Error ? error : new Error(String(error));
    if (timeout.aborted) {
      return unavailable(
        `it did not finish within ${timeoutMs / 1000} s (PACKAGE_DOWNLOAD_TIMEOUT_SECONDS)`,
      );
    }
    return undefined;
  };
  let writer: WriteStream | undefined;
  try {
    let response: Response;
    try {
      response = await options.fetch(pkg.url, { signal });
    } catch (error) {
      throw stopped(error) ?? unavailable(causeOf(error));
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw unavailable(`HTTP ${response.status}`);
    }

    const hash = createHash('md5');
    const sha256 = createHash('sha256');
    let bytes = 0;
    // The DOM stream's iterator is typed loosely; it yields bytes.
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    async function* counted() {
      for await (const chunk of body) {
        bytes += chunk.byteLength;
        if (bytes > pkg.size) {
          // Stop before a wrong package fills the disk.
          throw new RelguardError(
            FailureType.BadPackage,
            `package ${pkg.version} from ${where} is larger than the ${pkg.size} bytes recorded for it; the stored file is not the package that was recorded and is not deployed; packages are immutable: tag a new version`,
            { version: pkg.version, expected_size: pkg.size },
          );
        }
        hash.update(chunk);
        sha256.update(chunk);
        yield chunk;
      }
    }
    try {
      writer = createWriteStream(file);
      await pipeline(counted, writer, { signal });
    } catch (error) {
      if (error instanceof RelguardError) throw error;
      throw stopped(error) ?? unavailable(causeOf(error));
    }

    if (bytes !== pkg.size) {
      throw new RelguardError(
        FailureType.BadPackage,
        `package ${pkg.version} from ${where} has ${bytes} bytes, not the ${pkg.size} recorded for it; the stored file is not the package that was recorded and is not deployed; packages are immutable: tag a new version`,
        { version: pkg.version, expected_size: pkg.size, size: bytes },
      );
    }
    const sha = sha256.digest('hex');
    if (pkg.sha256 !== undefined && sha !== pkg.sha256.toLowerCase()) {
      throw new RelguardError(
        FailureType.BadPackage,
        `package ${pkg.version} from ${where} has SHA-256 ${sha}, not the ${pkg.sha256} recorded for it; the stored file is not the package that was recorded (it changed after it was stored) and is not deployed; packages are immutable: tag a new version`,
        { version: pkg.version, expected_sha256: pkg.sha256, sha256: sha },
      );
    }
    const md5 = hash.digest('hex');
    if (md5 !== pkg.md5.toLowerCase()) {
      throw new RelguardError(
        FailureType.BadPackage,
        `package ${pkg.version} from ${where} has MD5 ${md5}, not the ${pkg.md5} recorded for it; the stored file is not the package that was recorded (it changed after it was stored) and is not deployed; packages are immutable: tag a new version`,
        { version: pkg.version, expected_md5: pkg.md5, md5 },
      );
    }
  } catch (error) {
    // A stream destroyed while still opening creates its file after the failure: wait for
    // it to close, or the rm below runs first and leaves a wrong package behind.
    // (The stream's own error, if any, is the one already being thrown.)
    const open = writer;
    if (open !== undefined && !open.closed) {
      await new Promise<void>((resolve) => {
        open.once('close', () => resolve());
        open.destroy();
      });
    }
    await rm(file, { force: true });
    throw error;
  }
}
