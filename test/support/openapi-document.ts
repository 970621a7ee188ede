import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import { createLogger } from '../../activities/logger';
import type { LocalPackageStore } from '../../activities/package-store/local';
import { createApp, type ApiOptions } from '../../api/app';

/** A JSON value of the document. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Json }[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: Json }> };
  responses: Record<
    string,
    {
      description: string;
      headers?: Record<string, { schema?: Json }>;
      content?: Record<string, { schema?: Json }>;
      links?: Record<
        string,
        {
          operationId?: string;
          parameters?: Record<string, string>;
          requestBody?: Record<string, string>;
        }
      >;
    }
  >;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers?: { url: string; description?: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes?: Record<string, Json> };
}

export const httpMethods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Each operation of the document with its path and method. */
export function operationsOf(
  document: OpenApiDocument,
): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => httpMethods.includes(method))
      .map(([method, operation]) => ({ path, method, operation })),
  );
}

/** A dependency building the document must not use: any use of it fails, naming it. */
function unused<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      throw new Error(`the document used the api's ${name} (${String(property)})`);
    },
  });
}

/**
 * GET /openapi.json of an api over dependencies it must not need for it, with `options` (a
 * local package store documents the signed download; a public URL, the server).
 */
export async function servedDocument(
  options: { packageStore?: LocalPackageStore; publicUrl?: string } = {},
): Promise<OpenApiDocument> {
  const apiOptions: ApiOptions = {
    store: unused('store'),
    temporal: unused('Temporal client'),
    releases: unused('releases'),
    logger: createLogger('api', 'silent'),
    version: '1.2.3',
    ...options,
  };
  const response = await createApp(apiOptions).request('/openapi.json');
  if (response.status !== 200) {
    throw new Error(`GET /openapi.json answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as OpenApiDocument;
}

/** Follows `$ref`s into the document's components. */
export function resolved(document: OpenApiDocument, schema: Json | undefined): Json | undefined {
  let node = schema;
  for (let hops = 0; hops < 20; hops++) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
    const ref = node.$ref;
    if (typeof ref !== 'string') return node;
    node = document.components.schemas[ref.replace('#/components/schemas/', '')];
  }
  throw new Error(`a $ref cycle at ${JSON.stringify(schema)}`);
}

/**
 * Whether a value at JSON pointer `pointer` (`/items/0/id`) can exist in what `schema`
 * describes: each step is a property (or an item) of some branch of the schema.
 */
export function schemaHasPointer(
  document: OpenApiDocument,
  schema: Json | undefined,
  pointer: string,
): boolean {
  const steps = pointer.split('/').slice(1);
  const walk = (node: Json | undefined, at: number): boolean => {
    const here = resolved(document, node);
    if (at === steps.length) return here !== undefined;
    if (here === null || typeof here !== 'object' || Array.isArray(here)) return false;
    for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
      const branches = here[keyword];
      if (Array.isArray(branches) && branches.some((branch) => walk(branch, at))) return true;
    }
    const step = steps[at]!;
    const properties = here.properties;
    if (
      properties !== null &&
      typeof properties === 'object' &&
      !Array.isArray(properties) &&
      step in properties
    ) {
      return walk(properties[step], at + 1);
    }
    if (/^\d+$/.test(step) && here.items !== undefined) return walk(here.items, at + 1);
    return false;
  };
  return walk(schema, 0);
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });

/** A validator of `schema` whose `$ref`s point into the document's components. */
export function validatorOf(document: OpenApiDocument, schema: Json): ValidateFunction {
  const rewrite = (value: Json): Json =>
    JSON.parse(JSON.stringify(value).replaceAll('#/components/schemas/', '#/$defs/')) as Json;
  return ajv.compile({
    $defs: rewrite(document.components.schemas as Json),
    ...(rewrite(schema) as JsonObject),
  });
}

/** The validator of what `method path` declares it answers with `status` as JSON. */
export function responseValidator(
  document: OpenApiDocument,
  path: string,
  method: string,
  status: number,
): ValidateFunction {
  const schema =
    document.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json']
      ?.schema;
  if (schema === undefined) {
    throw new Error(`${method.toUpperCase()} ${path} declares no JSON ${status}`);
  }
  return validatorOf(document, schema);
}
