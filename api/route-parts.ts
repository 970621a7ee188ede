import { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './context';
import { errorBody } from './errors';

/** The `{id}` path parameter of a resource. */
export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

/** A JSON body or response of `schema`. */
export const json = <T>(schema: T) => ({ 'application/json': { schema } });

const packageUploadPath = /^\/api\/v1\/applications\/[^/]+\/packages\/[^/]+$/;

/**
 * PUT /api/v1/applications/{id}/packages/{version}: the one write under an application a
 * deployer may make, and the one body streamed to disk under its own size limit.
 */
export function isPackageUpload(method: string, path: string): boolean {
  return method === 'PUT' && packageUploadPath.test(path);
}

/** A request body of raw bytes, the same for each of `mediaTypes`. */
export function binaryContent(mediaTypes: readonly string[]) {
  const schema = z.string().openapi({ format: 'binary' });
  return Object.fromEntries(mediaTypes.map((type) => [type, { schema }]));
}

/**
 * 415 for a request body whose Content-Type is none of `mediaTypes` (parameters such as
 * `charset` aside). A body without a Content-Type is taken as `application/octet-stream`
 * (RFC 9110, 8.3), so it passes when that is one of them. For raw bodies: @hono/zod-openapi
 * makes this check itself for JSON bodies.
 */
export function acceptContentTypes(mediaTypes: readonly string[]): MiddlewareHandler<ApiEnv> {
  const accepted = new Set(mediaTypes.map((type) => type.toLowerCase()));
  return async (c, next) => {
    const header = c.req.header('content-type');
    const essence = (header ?? 'application/octet-stream').split(';')[0]!.trim().toLowerCase();
    if (!accepted.has(essence)) {
      return c.json(
        errorBody(
          'unsupported_media_type',
          // A missing header is taken as octet-stream above; an empty one is refused as empty.
          `Content-Type ${header === undefined || header === '' ? '(empty)' : header} is not accepted here: send ${mediaTypes.join(', ')}`,
          { accepted: [...mediaTypes] },
        ),
        415,
      );
    }
    await next();
  };
}
