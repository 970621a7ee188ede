import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import type { ApiEnv } from './context';

const assetsPrefix = '/docs/assets';
const swaggerDist = path.dirname(
  createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'),
);
/** The only files the page loads; nothing else of the package is served. */
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

/** /openapi.json from the routes' own schemas, and /docs with Swagger UI served locally (no CDN). */
export function mountDocs(app: OpenAPIHono<ApiEnv>, version: string): void {
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'relguard API',
      version,
      description:
        'Releases, rollbacks and root-cause reports. Errors are `{ error: { code, message, details } }`.',
    },
  });
  app.get(
    '/docs',
    swaggerUI({ url: '/openapi.json', baseUrl: assetsPrefix, title: 'relguard API' }),
  );
  app.get(`${assetsPrefix}/swagger-ui-dist/:file`, async (c) => {
    const file = c.req.param('file');
    const contentType = assets[file];
    if (contentType === undefined) return c.notFound();
    const body = await readFile(path.join(swaggerDist, file));
    return c.body(body, 200, {
      'content-type': contentType,
      'cache-control': 'public, max-age=86400',
    });
  });
}
