import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { resolvePackagePath, type LocalPackageStore } from '../activities/package-store/local';
import type { ApiEnv } from './context';
import { ErrorEnvelope, errorBody } from './errors';
import { json } from './route-parts';

const route = createRoute({
  method: 'get',
  path: '/packages/{key}',
  tags: ['packages'],
  operationId: 'downloadPackage',
  // The URL's signature is its authorization: no bearer token is asked for.
  security: [],
  summary: 'A package from the local store, through the signed URL relguard gave a machine',
  description:
    'Only for PACKAGE_STORE=local. Each machine a release deploys gets a URL signed for its ' +
    'package and valid for PACKAGE_URL_TTL_SECONDS; nothing is served without one, and a ' +
    'refusal does not say whether the package exists. `{key}` is the package key, its slashes ' +
    'included (e.g. `shop/shop-v1.0.0.tar.gz`).',
  request: {
    params: z.object({
      key: z
        .string()
        .openapi({ param: { name: 'key', in: 'path' }, example: 'shop/shop-v1.0.0.tar.gz' }),
    }),
    query: z.object({
      expires: z
        .string()
        .optional()
        .openapi({ description: 'Unix seconds the URL is valid until' }),
      signature: z
        .string()
        .optional()
        .openapi({ description: 'HMAC-SHA256 of the key and the expiry (hex)' }),
    }),
  },
  responses: {
    200: {
      description: 'The package (.tar.gz)',
      content: { 'application/gzip': { schema: z.string().openapi({ format: 'binary' }) } },
    },
    400: { description: 'A malformed path', content: json(ErrorEnvelope) },
    401: { description: 'The URL is not signed', content: json(ErrorEnvelope) },
    403: {
      description: 'The signature is not valid for this key and expiry, or the URL expired',
      content: json(ErrorEnvelope),
    },
    404: {
      description: 'No such package (only ever said to a validly signed URL)',
      content: json(ErrorEnvelope),
    },
  },
});

/**
 * GET /packages/<key>: the local package store's files, for the machines to download, only
 * through a URL the store signed (LocalPackageStore.downloadUrl) that has not expired: 401
 * unsigned, 403 tampered or expired, before the key is even looked at. Keys are untrusted: one
 * that leaves the folder, names a hidden file (the kept secret) or a file still being written,
 * is a 404.
 */
export function mountPackageFiles(app: OpenAPIHono<ApiEnv>, packages: LocalPackageStore): void {
  // Documented as one `{key}` segment; the handler takes the whole rest of the path, slashes
  // and all, from the raw URL so that it decodes it exactly once.
  app.openAPIRegistry.registerPath(route);
  app.get('/packages/*', async (c) => {
    const rawKey = new URL(c.req.url).pathname.slice('/packages/'.length);
    let key: string;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      return c.json(
        errorBody('bad_request', 'the package path is not valid percent-encoding'),
        400,
      );
    }
    const check = packages.checkDownload(key, {
      expires: c.req.query('expires'),
      signature: c.req.query('signature'),
    });
    if (!check.ok) {
      if (check.reason === 'unsigned') {
        c.header('WWW-Authenticate', 'Signature realm="relguard packages"');
        return c.json(errorBody('unauthorized', check.message), 401);
      }
      c.var.logger.warn(
        { key, reason: check.reason },
        'package download refused: its URL is not validly signed',
      );
      return c.json(errorBody('forbidden', check.message), 403);
    }
    const hidden = key.split('/').some((segment) => segment.startsWith('.'));
    const file = hidden || key.endsWith('.tmp') ? undefined : resolvePackagePath(packages.dir, key);
    const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
    if (file === undefined || info === undefined || !info.isFile()) {
      return c.json(errorBody('not_found', `no package ${key}`), 404);
    }
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, {
      'content-type': 'application/gzip',
      'content-length': String(info.size),
      'cache-control': 'private, no-store',
    });
  });
}
