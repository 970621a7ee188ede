import { createRoute, z } from '@hono/zod-openapi';
import { PackageRecord, Version } from '../../domain';
import { errorResponses, withJsonBodyErrors, link } from '../responses';
import { acceptContentTypes, binaryContent, IdParam, json } from '../route-parts';

/** What an upload may say its body is (the bytes are stored as sent, not inspected). */
const packageMediaTypes = [
  'application/gzip',
  'application/x-gzip',
  'application/octet-stream',
] as const;

const tags = ['packages'];
const PackageSchema = PackageRecord.openapi('Package');

export const CreatePackage = z
  .strictObject({
    app_id: z.string().min(1),
    /** A git tag of the application's repo. */
    version: Version,
  })
  .openapi('CreatePackage');

/** Links from a response whose body is a package. */
const packageLinks = {
  listPackages: link('listPackages', "The application's packages", {
    id: '$response.body#/app_id',
  }),
  createDeployment: link(
    'createDeployment',
    'Release this package',
    {},
    { app_id: '$response.body#/app_id', package_version: '$response.body#/version' },
  ),
};

export const createPackage = createRoute({
  method: 'post',
  path: '/api/v1/packages',
  tags,
  operationId: 'createPackage',
  summary: 'Build and store the package of a version, unless it exists',
  request: { body: { required: true, content: json(CreatePackage) } },
  responses: withJsonBodyErrors({
    200: {
      description: 'The package exists already',
      content: json(PackageSchema),
      links: packageLinks,
    },
    202: {
      description: 'The build started; the package appears in the application’s list when done',
      content: json(z.object({ workflow_id: z.string(), workflow_url: z.string() })),
    },
    404: errorResponses[404],
    503: errorResponses[503],
  }),
});

export const listPackages = createRoute({
  method: 'get',
  path: '/api/v1/applications/{id}/packages',
  tags,
  operationId: 'listPackages',
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
  operationId: 'uploadPackage',
  middleware: [acceptContentTypes(packageMediaTypes)],
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
        .optional()
        .openapi({
          description:
            "The body's MD5, as 32 hex digits: a body whose MD5 differs is refused (422) and nothing is stored",
        }),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, '64 hex digits')
        .optional()
        .openapi({
          description:
            "The body's SHA-256, as 64 hex digits: a body whose SHA-256 differs is refused (422) and nothing is stored",
        }),
    }),
    body: {
      required: true,
      description:
        'The .tar.gz; a body sent without a Content-Type is taken as `application/octet-stream`',
      content: binaryContent(packageMediaTypes),
    },
  },
  responses: {
    200: {
      description: 'The same bytes were recorded for the version meanwhile: that package',
      content: json(PackageSchema),
      links: packageLinks,
    },
    201: { description: 'Stored and recorded', content: json(PackageSchema), links: packageLinks },
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
    413: {
      description: 'Larger than the api accepts (PACKAGE_UPLOAD_MAX_MB)',
      content: errorResponses[413].content,
    },
    415: {
      description: `The Content-Type is not one of ${packageMediaTypes.join(', ')}`,
      content: errorResponses[415].content,
    },
    422: errorResponses[422],
  },
});
