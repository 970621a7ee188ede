import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { downloadPackage } from '../../activities/platform/package-download';
import type { PackageRef } from '../../activities/platform/types';

/**
 * Wang et al.'s two 128-byte blocks with one MD5 (a published test vector): a store that
 * served the second for the first would pass an MD5 check.
 */
const collidingA = Buffer.from(
  'd131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f89' +
    '55ad340609f4b30283e488832571415a085125e8f7cdc99fd91dbdf280373c5b' +
    'd8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0' +
    'e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70',
  'hex',
);
const collidingB = Buffer.from(
  'd131dd02c5e6eec4693d9a0698aff95c2fcab50712467eab4004583eb8fb7f89' +
    '55ad340609f4b30283e4888325f1415a085125e8f7cdc99fd91dbd7280373c5b' +
    'd8823e3156348f5bae6dacd436c919c6dd53e23487da03fd02396306d248cda0' +
    'e99f33420f577ee8ce54b67080280d1ec69821bcb6a8839396f965ab6ff72a70',
  'hex',
);

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
let server: http.Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-integrity-'));
  server = http.createServer((request, response) => {
    if (request.url === '/served-b') {
      response.end(collidingB);
    } else if (request.url === '/stalls') {
      // Headers and half the body, then nothing more: a store that hangs mid-download.
      response.writeHead(200, { 'content-length': String(collidingA.length) });
      response.write(collidingA.subarray(0, 64));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function failureOf(ref: PackageRef, timeoutMs?: number): Promise<RelguardError> {
  const file = path.join(dir, 'package.tar.gz');
  const error: unknown = await downloadPackage(ref, file, {
    fetch,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RelguardError);
  // Nothing is left for a machine to unpack.
  expect(await readdir(dir)).toEqual([]);
  return error as RelguardError;
}

describe('the download of a package checks its SHA-256', () => {
  it('refuses bytes with the recorded MD5 and size but another SHA-256', async () => {
    expect(md5(collidingA)).toBe(md5(collidingB));
    const recorded: PackageRef = {
      version: 'v1.0.0',
      url: `${base}/served-b`,
      md5: md5(collidingA),
      sha256: sha256(collidingA),
      size: collidingA.length,
    };

    const failure = await failureOf(recorded);

    expect(failure.type).toBe(FailureType.BadPackage);
    expect(failure.message).toContain(
      `package v1.0.0 from ${base}/served-b has SHA-256 ${sha256(collidingB)}, not the ${sha256(collidingA)} recorded for it`,
    );
    expect(failure.message).toContain('is not deployed');
    // A version's package cannot be replaced: the way out is a new version.
    expect(failure.message).toContain('packages are immutable: tag a new version');
    expect(failure.message).not.toContain('re-upload');
  });

  it('refuses bytes of another size than recorded, saying to tag a new version', async () => {
    for (const size of [collidingA.length - 1, collidingA.length + 1]) {
      const failure = await failureOf({
        version: 'v1.0.0',
        url: `${base}/served-b`,
        md5: md5(collidingB),
        sha256: sha256(collidingB),
        size,
      });

      expect(failure.type).toBe(FailureType.BadPackage);
      expect(failure.message).toContain(`package v1.0.0 from ${base}/served-b`);
      expect(failure.message).toContain(`${size}`);
      expect(failure.message).toContain(
        'is not deployed; packages are immutable: tag a new version',
      );
      expect(failure.message).not.toMatch(/rebuild|re-upload/);
    }
  });

  it('passes the bytes recorded', async () => {
    const file = path.join(dir, 'package.tar.gz');
    await downloadPackage(
      {
        version: 'v1.0.0',
        url: `${base}/served-b`,
        md5: md5(collidingB),
        sha256: sha256(collidingB),
        size: collidingB.length,
      },
      file,
      { fetch },
    );
    expect(await readdir(dir)).toEqual(['package.tar.gz']);
    await rm(file);
  });

  it('fails a download that does not finish within its timeout, naming the package', async () => {
    const failure = await failureOf(
      {
        version: 'v2.0.0',
        url: `${base}/stalls`,
        md5: md5(collidingA),
        sha256: sha256(collidingA),
        size: collidingA.length,
      },
      300,
    );

    expect(failure.type).toBe(FailureType.Unavailable);
    expect(failure.message).toBe(
      `could not download package v2.0.0 from ${base}/stalls: it did not finish within 0.3 s (PACKAGE_DOWNLOAD_TIMEOUT_SECONDS)`,
    );
  });
});
