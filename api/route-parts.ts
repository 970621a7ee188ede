import { z } from '@hono/zod-openapi';

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
