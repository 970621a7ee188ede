import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import { resolvePackagePath } from '../activities/package-store/local';
import type { ApiEnv } from './context';
import { errorBody } from './errors';

/**
 * GET /packages/<key>: the local package store's files, for the machines to download. Keys are
 * untrusted: one that leaves the folder, or names a file still being written, is a 404.
 */
export function mountPackageFiles(app: Hono<ApiEnv>, packageDir: string): void {
  app.get('/packages/*', async (c) => {
    const key = decodeURIComponent(c.req.path.slice('/packages/'.length));
    const file = key.endsWith('.tmp') ? undefined : resolvePackagePath(packageDir, key);
    const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
    if (file === undefined || info === undefined || !info.isFile()) {
      return c.json(errorBody('not_found', `no package ${key}`), 404);
    }
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, {
      'content-type': 'application/gzip',
      'content-length': String(info.size),
    });
  });
}
