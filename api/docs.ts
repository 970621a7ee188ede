import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import { requiredRole } from './auth';
import type { ApiEnv } from './context';
import { ErrorEnvelope } from './errors';
import { rateLimited } from './rate-limit';

type OpenAPIDocument = ReturnType<OpenAPIHono<ApiEnv>['getOpenAPI31Document']>;
type PathItem = NonNullable<OpenAPIDocument['paths']>[string];
const methods = ['get', 'put', 'post', 'delete', 'patch'] as const;

const assetsPrefix = '/docs/assets';
const swaggerDist = path.dirname(
  createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'),
);
/** The only files the page loads; nothing else of the package is served. */
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

/**
 * Adds what the middleware in front of the handlers answers to every operation it guards: the
 * bearer token and its 401 and 403 where api/auth.ts asks for a role (the same function decides
 * both, so the document cannot drift from the check), with the 503 of a token that cannot be
 * checked while MongoDB is down, the write rate limit's 429 on the writes a token makes, and
 * the body limit's 413 wherever a body is sent. A route declares only what its handler answers.
 */
export function withMiddlewareResponses(document: OpenAPIDocument): OpenAPIDocument {
  for (const [path, item] of Object.entries<PathItem>(document.paths ?? {})) {
    for (const method of methods) {
      const operation = item[method];
      if (operation === undefined) continue;
      const responses = (operation.responses ??= {});
      const role = requiredRole(method.toUpperCase(), path);
      if (role !== undefined) {
        operation.security = [{ bearer: [] }];
        responses['401'] ??= { description: 'No valid bearer token', content: errorContent };
        responses['403'] ??= {
          description: `The token's role is below ${role}`,
          content: errorContent,
        };
        responses['503'] ??= {
          description: 'The database (MongoDB) is unavailable; try again shortly',
          content: errorContent,
        };
        if (rateLimited(method.toUpperCase(), path)) {
          responses['429'] ??= {
            description:
              'The token made more writes in the last minute than API_WRITE_RATE_PER_MINUTE allows; the Retry-After header says when to try again',
            headers: {
              'Retry-After': {
                description: 'Seconds until this token may write again',
                schema: { type: 'integer', minimum: 1 },
              },
            },
            content: errorContent,
          };
        }
      }
      if (path.startsWith('/api/') && operation.requestBody !== undefined) {
        responses['413'] ??= {
          description: 'The body is larger than the api accepts',
          content: errorContent,
        };
      }
    }
  }
  return document;
}

/** /openapi.json from the routes' own schemas, and /docs with Swagger UI served locally (no CDN). */
export function mountDocs(app: OpenAPIHono<ApiEnv>, version: string): void {
  // The middleware's responses point at it by name, whichever routes happen to use it.
  app.openAPIRegistry.register('Error', ErrorEnvelope);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An api token (`rg_…`); its role decides what it may do',
  });
  app.get('/openapi.json', (c) =>
    c.json(
      withMiddlewareResponses(
        app.getOpenAPI31Document({
          openapi: '3.1.0',
          info: {
            title: 'relguard API',
            version,
            description:
              'Releases, rollbacks and root-cause reports. Errors are `{ error: { code, message, details } }`.',
          },
        }),
      ),
    ),
  );
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
