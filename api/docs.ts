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

/** The tags of the document, once, with what each groups; every operation has one of them. */
export const documentTags = [
  { name: 'health', description: 'Whether the api reaches its dependencies' },
  { name: 'applications', description: 'Applications: their machines, pacer, policy and metrics' },
  {
    name: 'deployments',
    description:
      'Releases: start one, follow it, act on it (pause, resume, approve, promote, roll back, cancel), its guard and report',
  },
  { name: 'packages', description: 'Built packages: build, upload, list, download' },
  { name: 'tokens', description: 'Api tokens, who the caller is, and the audit log' },
  { name: 'channels', description: 'Notification channels for alerts' },
  {
    name: 'webhooks',
    description: 'What Alertmanager and GitHub call: alerts and tag pushes',
  },
];

export interface DocumentOptions {
  /** The document's `info.version` (relguard's). */
  version: string;
  /**
   * The api as people reach it (API_PUBLIC_URL): the document's server. Unset, the server is
   * `/`, the origin the document was read from.
   */
  publicUrl?: string;
}

/**
 * Adds what the middleware in front of the handlers answers to every operation it guards: the
 * bearer token and its 401 and 403 where api/auth.ts asks for a role (the same function decides
 * both, so the document cannot drift from the check), `security: []` where it asks for none,
 * with the 503 of a token that cannot be checked while MongoDB is down, the write rate limit's
 * 429 on the writes a token makes, the body limit's 413 wherever a body is sent, and the 400 of
 * a path or query that is not valid percent-encoding (api/well-formed-url.ts) everywhere. A
 * route declares only what its handler and its validation answer.
 */
export function withMiddlewareResponses(document: OpenAPIDocument): OpenAPIDocument {
  for (const [path, item] of Object.entries<PathItem>(document.paths ?? {})) {
    for (const method of methods) {
      const operation = item[method];
      if (operation === undefined) continue;
      const responses = (operation.responses ??= {});
      responses['400'] ??= {
        description: 'The path or query is not valid percent-encoding',
        content: errorContent,
      };
      const role = requiredRole(method.toUpperCase(), path);
      if (role === undefined) operation.security ??= [];
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
export function mountDocs(app: OpenAPIHono<ApiEnv>, options: DocumentOptions): void {
  // The configured URL first (Swagger UI's choice), then the page's own origin: API_PUBLIC_URL
  // has a default (127.0.0.1:3000), and an api reached another way must still be triable.
  const origin = { url: '/', description: 'The origin this document was read from' };
  const servers =
    options.publicUrl === undefined
      ? [origin]
      : // Without a trailing slash: paths start with one.
        [
          { url: options.publicUrl.replace(/\/+$/, ''), description: 'This api (API_PUBLIC_URL)' },
          origin,
        ];
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
            version: options.version,
            description:
              "Releases, rollbacks and root-cause reports. Errors are `{ error: { code, message, details } }`. A method a path does not declare answers 405 with `Allow`. Besides the operations whose `security` is empty, the api serves without a token: /openapi.json (this document), /docs (Swagger UI), /metrics (relguard's own metrics, for Prometheus) and /console/ (the web console, which asks for a token for every call).",
          },
          servers,
          tags: documentTags,
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
