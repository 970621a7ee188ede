import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RouteHandler } from '@hono/zod-openapi';
import { packageKey } from '../../activities/package-build';
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

/** Reads the upload to a temporary file, counting its size and MD5 as it comes. */
async function receive(body: ReadableStream<Uint8Array>, file: string, maxBytes: number) {
  const hash = createHash('md5');
  let size = 0;
  const counted = Readable.fromWeb(body).map((chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) throw new PayloadTooLarge(maxBytes);
    hash.update(chunk);
    return chunk;
  });
  await pipeline(counted, createWriteStream(file));
  return { size, md5: hash.digest('hex') };
}

class PayloadTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the package is larger than the ${maxBytes} bytes the api accepts`);
  }
}

export const uploadPackage: RouteHandler<typeof routes.uploadPackage, ApiEnv> = async (c) => {
  const { id, version } = c.req.valid('param');
  const { md5: expectedMd5 } = c.req.valid('query');
  const { packageStore, maxPackageBytes } = c.var.packageUploads;
  if (packageStore === undefined) {
    throw new RelguardError(FailureType.Unavailable, 'this api has no package store to upload to');
  }
  const app = await c.var.store.applications.get(id);
  // Refuses a version that cannot name a package before a byte of the body is read.
  const key = packageKey(app.name, version);
  if ((await c.var.store.packages.findByVersion(app.id, version)) !== undefined) {
    throw conflict(`${app.name} already has a package for ${version}: packages are immutable`);
  }
  const body = c.req.raw.body;
  if (body === null) {
    throw new RelguardError(FailureType.BadConfig, 'the request has no body: send the .tar.gz');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-upload-'));
  try {
    const file = path.join(dir, 'package.tar.gz');
    let received: { size: number; md5: string };
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
    await packageStore.put(key, file);
    const record = await c.var.store.packages.create({
      app_id: app.id,
      app_name: app.name,
      version,
      key,
      url: packageStore.url(key),
      md5: received.md5,
      size: received.size,
      created_at: Date.now(),
    });
    c.var.logger.info({ app: app.name, version, key, md5: received.md5 }, 'package uploaded');
    return c.json(record, 201);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
