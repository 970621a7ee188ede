import { extendZodWithOpenApi, type ZodOpenAPIMetadata } from '@asteasolutions/zod-to-openapi';
import type { SchemaObject } from 'openapi3-ts/oas31';
import { z } from 'zod';

// The domain schemas are also the api's OpenAPI components. zod 4 copies methods onto each
// schema when it is created, so `.openapi()` must be added before the first domain schema
// exists, not later when the api module loads. Every domain file takes z from here.
extendZodWithOpenApi(z);

export { z };

/**
 * A whole number from `min` to `max`, stated in the OpenAPI document with both bounds. zod's
 * int() already refuses anything past Number.MAX_SAFE_INTEGER (a JSON number that large has
 * lost its last digits); without a `max` of its own the document says so as `maximum`, so that
 * a client knows a larger number is refused.
 */
export function integer(min: number, max?: number) {
  const atLeast = z.number().int().min(min);
  return max === undefined
    ? atLeast.openapi({ maximum: Number.MAX_SAFE_INTEGER })
    : atLeast.max(max);
}

/**
 * A schema in the words of OpenAPI 3.1, that is JSON Schema 2020-12: `contains`, `if` and
 * `then`, and `false` for a property that must be absent, besides what openapi3-ts types.
 */
export type JsonSchema = Omit<SchemaObject, 'properties' | 'items' | 'oneOf' | 'not'> & {
  properties?: Record<string, JsonSchema | boolean>;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  not?: JsonSchema;
  contains?: JsonSchema;
  if?: JsonSchema;
  then?: JsonSchema;
};

/**
 * `.openapi()` metadata in the words of OpenAPI 3.1, the document's version: zod-to-openapi
 * types its metadata as what 3.0 and 3.1 share, which leaves out `propertyNames`, `contains`,
 * `const`, `if` and boolean schemas. They reach the document as given.
 */
export function openApi31(schema: JsonSchema): Partial<ZodOpenAPIMetadata> {
  return schema as Partial<ZodOpenAPIMetadata>;
}
