import { createRoute, z } from '@hono/zod-openapi';
import { PackageRecord, Version } from '../../domain';
import { errorResponses } from '../responses';
import { IdParam, json } from '../route-parts';

const tags = ['packages'];
const PackageSchema = PackageRecord.openapi('Package');

export const CreatePackage = z
  .strictObject({
    app_id: z.string().min(1),
    /** A git tag of the application's repo. */
    version: Version,
  })
  .openapi('CreatePackage');

export const createPackage = createRoute({
  method: 'post',
  path: '/api/v1/packages',
  tags,
  summary: 'Build and store the package of a version, unless it exists',
  request: { body: { required: true, content: json(CreatePackage) } },
  responses: {
    200: { description: 'The package exists already', content: json(PackageSchema) },
    202: {
      description: 'The build started; the package appears in the application’s list when done',
      content: json(z.object({ workflow_id: z.string(), workflow_url: z.string() })),
    },
    400: errorResponses[400],
    404: errorResponses[404],
    422: errorResponses[422],
    503: errorResponses[503],
  },
});

export const listPackages = createRoute({
  method: 'get',
  path: '/api/v1/applications/{id}/packages',
  tags,
  summary: 'The packages of an application, newest first',
  request: {
    params: IdParam,
  },
  responses: {
    200: { description: 'Packages', content: json(z.object({ items: z.array(PackageSchema) })) },
    404: errorResponses[404],
  },
});

export const uploadPackage = createRoute({
  method: 'put',
  path: '/api/v1/applications/{id}/packages/{version}',
  tags,
  summary: 'Upload a package built elsewhere (a CI job) into the configured store',
  description:
    'The body is the .tar.gz itself. With `md5` or `sha256`, a package whose digest differs is refused (422) and nothing is stored. A version that has a package already is 409: packages are immutable. When a build or another upload records the version while this one is received, the same bytes answer 200 with that package and other bytes 409.',
  request: {
    params: IdParam.extend({
      version: Version.openapi({ param: { name: 'version', in: 'path' } }),
    }),
    query: z.object({
      // No `i` flag: the document carries the pattern without its flags, and /i made it
      // `^[0-9a-f]{32}$/i`, which no value matches.
      md5: z
        .string()
        .regex(/^[0-9a-fA-F]{32}$/, '32 hex digits')
        .optional(),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, '64 hex digits')
        .optional(),
    }),
    body: {
      required: true,
      content: { 'application/gzip': { schema: z.string().openapi({ format: 'binary' }) } },
    },
  },
  responses: {
    200: {
      description: 'The same bytes were recorded for the version meanwhile: that package',
      content: json(PackageSchema),
    },
    201: { description: 'Stored and recorded', content: json(PackageSchema) },
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
    413: { description: 'Larger than the api accepts', content: errorResponses[400].content },
    422: errorResponses[422],
  },
});
