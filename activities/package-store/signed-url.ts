import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FailureType, RelguardError } from '../../domain/errors';

/**
 * The local store's download URLs: `<base>/<key>?expires=<unix seconds>&signature=<hex>`, the
 * signature an HMAC-SHA256 of the key and the expiry under a secret the api and the worker
 * share. The api serves a package only to a URL the worker signed and that has not expired.
 */

/** The file in the package folder that keeps the secret when PACKAGE_URL_SECRET is unset. */
export const urlSecretFile = '.url-secret';

const signatureLength = 64;

function signatureOf(secret: string, key: string, expires: number): string {
  return createHmac('sha256', secret).update(`${key}\n${expires}`).digest('hex');
}

/** The query that makes `key` downloadable until `expires` (unix seconds). */
export function signedQuery(secret: string, key: string, expires: number): string {
  return `expires=${expires}&signature=${signatureOf(secret, key, expires)}`;
}

export type SignatureCheck =
  { ok: true } | { ok: false; reason: 'unsigned' | 'tampered' | 'expired'; message: string };

/**
 * Whether `expires` and `signature` (as the request's query has them) let `key` be downloaded
 * at `nowSeconds`. The signature is checked first, in constant time, so "expired" is only ever
 * said of a URL relguard signed.
 */
export function checkSignature(
  secret: string,
  key: string,
  query: { expires: string | undefined; signature: string | undefined },
  nowSeconds: number,
): SignatureCheck {
  const { expires, signature } = query;
  if (expires === undefined || signature === undefined) {
    return {
      ok: false,
      reason: 'unsigned',
      message:
        'package downloads need a signed URL (?expires=…&signature=…); relguard hands one to each machine it deploys',
    };
  }
  const tampered = {
    ok: false,
    reason: 'tampered',
    message: 'the signature of this package URL is not valid for its path and expiry',
  } as const;
  if (!/^[0-9]{1,12}$/.test(expires) || !/^[0-9a-f]+$/i.test(signature)) return tampered;
  const given = Buffer.from(signature.toLowerCase(), 'utf8');
  const expected = Buffer.from(signatureOf(secret, key, Number(expires)), 'utf8');
  if (given.length !== signatureLength || !timingSafeEqual(given, expected)) return tampered;
  if (Number(expires) < nowSeconds) {
    return {
      ok: false,
      reason: 'expired',
      message: `this package URL expired at ${new Date(Number(expires) * 1000).toISOString()}; ask relguard for a new one`,
    };
  }
  return { ok: true };
}

const minimumSecretLength = 32;

/**
 * The secret that signs the local store's URLs: PACKAGE_URL_SECRET when set, else the one kept
 * in `<dir>/.url-secret` — made on first use (32 random bytes, mode 0600, created atomically,
 * so an api and a worker starting together agree on it). A kept file others can read, or one
 * that holds no usable secret, is refused. Synchronous: called once, at startup.
 */
export function loadPackageUrlSecret(options: {
  dir: string;
  secret?: string | undefined;
}): string {
  if (options.secret !== undefined) return options.secret;
  const file = path.join(options.dir, urlSecretFile);
  const refuse = (why: string, details: Record<string, unknown> = {}) =>
    new RelguardError(
      FailureType.BadConfig,
      `the package URL secret ${file} ${why}; set PACKAGE_URL_SECRET (at least ${minimumSecretLength} characters) or fix the file`,
      { file, ...details },
    );
  try {
    mkdirSync(options.dir, { recursive: true });
    const candidate = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(candidate, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(candidate, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(candidate);
    }
  } catch (error) {
    throw refuse('cannot be created', { code: (error as NodeJS.ErrnoException).code });
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw refuse(`is readable by others (mode ${mode.toString(8)}, not 600)`, {
      mode: mode.toString(8),
    });
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < minimumSecretLength) {
    throw refuse(`holds fewer than ${minimumSecretLength} characters`);
  }
  return secret;
}
