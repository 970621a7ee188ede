/**
 * The api's OpenAPI document as the api serves it, and the TypeScript types generated from it
 * with openapi-typescript: client/openapi.json and client/schema.ts, which the CLI, the console
 * and other teams' tools (client/index.ts) call the api through.
 *
 *   npm run generate:client            writes both files (npm run typecheck runs it first)
 *   npm run generate:client -- --check writes nothing; exits 1 naming the files that differ
 *
 * In CI (CI=true) it only checks: files nobody regenerated after a route changed fail the
 * build instead of being rewritten on the fly. No network, no database: the document is what
 * createApp serves at GET /openapi.json over dependencies that refuse to be used.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import * as prettier from 'prettier';
import ts from 'typescript';
import { createLogger } from '../activities/logger';
import { createApp, type ApiOptions } from '../api/app';
import packageJson from '../package.json' with { type: 'json' };

export const clientDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'client');
export const documentFile = path.join(clientDir, 'openapi.json');
export const schemaFile = path.join(clientDir, 'schema.ts');

/** A dependency the document does not need: any use of it is a bug of this script, said so. */
function unused<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      throw new Error(
        `building the OpenAPI document used the api's ${name} (${String(property)}): it must not need one`,
      );
    },
  });
}

/** GET /openapi.json of the api as api/main.ts builds it (its version, no public settings). */
export async function serverDocument(): Promise<OpenAPI3> {
  const options: ApiOptions = {
    store: unused('store'),
    temporal: unused('Temporal client'),
    releases: unused('releases'),
    logger: createLogger('openapi-generate', 'silent'),
    version: packageJson.version,
  };
  const response = await createApp(options).request('/openapi.json');
  if (response.status !== 200) {
    throw new Error(`GET /openapi.json answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as OpenAPI3;
}

const header = `/**
 * Generated from client/openapi.json by openapi-typescript (npm run generate:client):
 * do not edit. Import what you need from client/index.ts.
 */
/* eslint-disable -- generated: the document's unions, not ours to tidy */
`;

/** `format: binary` bodies (a package upload) are bytes to send, not strings. */
const blob = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The property schemas that a request body may leave out because the server fills in their
 * `default`: not `required`, with a default, in a schema a request body uses. openapi-typescript
 * types a property with a default as always there, which holds for what the api answers (it
 * fills the defaults in) but not for what a caller sends; it knows that of a body written in
 * the operation, not of a component schema (ApplicationInput) the body refers to.
 */
function requestDefaults(document: OpenAPI3): WeakSet<object> {
  const root = document as unknown as JsonObject;
  const schemas = isObject(root.components) ? root.components.schemas : undefined;
  const found = new WeakSet<object>();
  const visited = new Set<Json>();
  const visit = (schema: Json | undefined): void => {
    if (!isObject(schema) || visited.has(schema)) return;
    visited.add(schema);
    const ref = schema.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/') && isObject(schemas)) {
      visit(schemas[ref.slice('#/components/schemas/'.length)]);
    }
    const required = Array.isArray(schema.required) ? schema.required : [];
    if (isObject(schema.properties)) {
      for (const [name, property] of Object.entries(schema.properties)) {
        if (isObject(property) && 'default' in property && !required.includes(name)) {
          found.add(property);
        }
        visit(property);
      }
    }
    for (const key of ['items', 'additionalProperties', 'not']) visit(schema[key]);
    for (const key of ['allOf', 'oneOf', 'anyOf']) {
      const parts = schema[key];
      if (Array.isArray(parts)) for (const part of parts) visit(part);
    }
  };
  for (const group of [root.paths, root.webhooks]) {
    if (!isObject(group)) continue;
    for (const item of Object.values(group)) {
      if (!isObject(item)) continue;
      for (const operation of Object.values(item)) {
        const body = isObject(operation) ? operation.requestBody : undefined;
        const content = isObject(body) ? body.content : undefined;
        if (!isObject(content)) continue;
        for (const media of Object.values(content)) visit(isObject(media) ? media.schema : null);
      }
    }
  }
  return found;
}

/** The generated types of a document, formatted as the repository formats TypeScript. */
export async function schemaSource(document: OpenAPI3): Promise<string> {
  const omissible = requestDefaults(document);
  const nodes = await openapiTS(document, {
    silent: true,
    transform: (schema) =>
      // A boolean schema (`false`: a property a shape must not have) is not an object.
      typeof schema === 'object' &&
      'format' in schema &&
      schema.format === 'binary' &&
      schema.type === 'string'
        ? blob
        : undefined,
    transformProperty: (property, schema) =>
      omissible.has(schema) && property.questionToken === undefined
        ? ts.factory.updatePropertySignature(
            property,
            property.modifiers,
            property.name,
            ts.factory.createToken(ts.SyntaxKind.QuestionToken),
            property.type,
          )
        : undefined,
  });
  return await formatted(`${header}\n${astToString(nodes)}`, schemaFile);
}

/** The document as committed: indented, formatted like every JSON file here. */
export async function documentSource(document: OpenAPI3): Promise<string> {
  return await formatted(JSON.stringify(document, null, 2), documentFile);
}

async function formatted(text: string, file: string): Promise<string> {
  const config = (await prettier.resolveConfig(file)) ?? {};
  return await prettier.format(text, { ...config, filepath: file });
}

/** Both files as the server produces them now, by path. */
export async function generatedFiles(): Promise<Map<string, string>> {
  const document = await serverDocument();
  return new Map([
    [documentFile, await documentSource(document)],
    [schemaFile, await schemaSource(document)],
  ]);
}

/** The files whose committed content differs from what the server produces now. */
export async function staleFiles(files: Map<string, string>): Promise<string[]> {
  const stale: string[] = [];
  for (const [file, text] of files) {
    const committed = await readFile(file, 'utf8').catch(() => undefined);
    if (committed !== text) stale.push(path.relative(process.cwd(), file));
  }
  return stale;
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check') || process.env.CI === 'true';
  const files = await generatedFiles();
  const stale = await staleFiles(files);
  if (check) {
    if (stale.length === 0) return 0;
    process.stderr.write(
      `${stale.join(', ')} differ from what the api serves now: run npm run generate:client and commit them\n`,
    );
    return 1;
  }
  for (const [file, text] of files) await writeFile(file, text);
  process.stderr.write(
    stale.length === 0 ? 'client/ is up to date\n' : `regenerated ${stale.join(', ')}\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
