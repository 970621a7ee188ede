import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RouteHandler } from '@hono/zod-openapi';
import { checkPackageNames, packageKey } from '../../activities/package-build';
import { recordPackage } from '../../activities/package-record';
import type { PackageDigests } from '../../activities/package-store/types';
import { conflict, FailureType, RelguardError } from '../../domain';
import type { ApiEnv } from '../context';
import { errorBody } from '../errors';
import type * as routes from './routes';

export const createPackage: RouteHandler<typeof routes.createPackage, ApiEnv> = async (c) => {
  const { app_id, version } = c.req.valid('json');
  const app = await c.var.store.applications.get(app_id);
  const existing = await c.var.store.packages.findByVersion(app.id, version);
  if (existing !== undefined) return c.json(existing, 200);
  const { workflowId } = await c.var.releases.buildPackage(app, version);
  c.var.logger.info({ app: app.name, version, workflowId }, 'package build started');
  return c.json(
    { workflow_id: workflowId, workflow_url: c.var.releases.workflowUrl(workflowId) },
    202,
  );
};

export const listPackages: RouteHandler<typeof routes.listPackages, ApiEnv> = async (c) => {
  const app = await c.var.store.applications.get(c.req.valid('param').id);
  return c.json({ items: await c.var.store.packages.listByApp(app.id) }, 200);
};

/** Reads the upload to a temporary file, counting its size, MD5 and SHA-256 as it comes. */
async function receive(
  body: ReadableStream<Uint8Array>,
  file: string,
  maxBytes: number,
): Promise<PackageDigests> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let size = 0;
  const counted = Readable.fromWeb(body).map((chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) throw new PayloadTooLarge(maxBytes);
    md5.update(chunk);
    sha256.update(chunk);
    return chunk;
  });
  await pipeline(counted, createWriteStream(file));
  return { size, md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

class PayloadTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the package is larger than the ${maxBytes} bytes the api accepts`);
  }
}

export const uploadPackage: RouteHandler<typeof routes.uploadPackage, ApiEnv> = async (c) => {
  const { id, version } = c.req.valid('param');
  const { md5: expectedMd5, sha256: expectedSha256 } = c.req.valid('query');
  const { packageStore, maxPackageBytes } = c.var.packageUploads;
  if (packageStore === undefined) {
    throw new RelguardError(FailureType.Unavailable, 'this api has no package store to upload to');
  }
  const app = await c.var.store.applications.get(id);
  // Refuses a version that cannot name a package before a byte of the body is read.
  checkPackageNames(app.name, version);
  const existing = await c.var.store.packages.findByVersion(app.id, version);
  if (existing !== undefined) {
    throw conflict(
      `${app.name} already has a package for ${version} (${existing.sha256 === undefined ? '' : `SHA-256 ${existing.sha256}, `}MD5 ${existing.md5}): packages are immutable`,
      { version, sha256: existing.sha256, md5: existing.md5 },
    );
  }
  const body = c.req.raw.body;
  if (body === null) {
    throw new RelguardError(FailureType.BadConfig, 'the request has no body: send the .tar.gz');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-upload-'));
  try {
    const file = path.join(dir, 'package.tar.gz');
    let received: PackageDigests;
    try {
      received = await receive(body, file, maxPackageBytes);
    } catch (error) {
      if (error instanceof PayloadTooLarge) {
        return c.json(errorBody('payload_too_large', error.message), 413);
      }
      throw error;
    }
    if (received.size === 0) {
      throw new RelguardError(FailureType.BadPackage, 'the package is empty');
    }
    if (expectedMd5 !== undefined && received.md5 !== expectedMd5.toLowerCase()) {
      throw new RelguardError(
        FailureType.BadPackage,
        `the package's MD5 is ${received.md5}, not the ${expectedMd5} given: nothing was stored`,
        { md5: received.md5 },
      );
    }
    if (expectedSha256 !== undefined && received.sha256 !== expectedSha256.toLowerCase()) {
      throw new RelguardError(
        FailureType.BadPackage,
        `the package's SHA-256 is ${received.sha256}, not the ${expectedSha256} given: nothing was stored`,
        { sha256: received.sha256 },
      );
    }
    // Content-addressed: a build or another upload of this version never shares this key.
    const key = packageKey(app.name, version, received.sha256);
    await packageStore.put(key, file, received);
    const createdAt = Date.now();
    // A build or upload that recorded the version meanwhile wins: the same bytes are that
    // package (200), other bytes are refused (409) and the stored package stays.
    const record = await recordPackage(
      {
        app_id: app.id,
        app_name: app.name,
        version,
        key,
        url: packageStore.url(key),
        md5: received.md5,
        sha256: received.sha256,
        size: received.size,
        created_at: createdAt,
      },
      c.var.store.packages,
    );
    c.var.logger.info(
      { app: app.name, version, key, md5: received.md5, sha256: received.sha256 },
      'package uploaded',
    );
    return c.json(record, record.key === key && record.created_at === createdAt ? 201 : 200);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
