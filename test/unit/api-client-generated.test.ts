import { readFile } from 'node:fs/promises';
import type { OpenAPI3 } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';
import {
  documentFile,
  generatedFiles,
  schemaSource,
  serverDocument,
  staleFiles,
} from '../../scripts/openapi-generate';

/**
 * client/openapi.json and client/schema.ts are committed for other teams to read, and the CLI
 * and the console compile against them: they must be what the api serves now. `npm run
 * typecheck` regenerates them (in CI it only checks); this catches a route changed without
 * running it, whichever way the suite is run.
 */
describe('the generated client', () => {
  it('is what the api serves now: run npm run generate:client and commit when this fails', async () => {
    const stale = await staleFiles(await generatedFiles());
    expect(stale, 'regenerate with npm run generate:client').toEqual([]);
    const committed = JSON.parse(await readFile(documentFile, 'utf8')) as unknown;
    expect(committed).toEqual(await serverDocument());
  }, 60_000);

  /** A field with a default, in a body a caller sends and in an answer the api gives. */
  const document = {
    openapi: '3.1.0',
    info: { title: 'defaults', version: '1' },
    paths: {
      '/things': {
        post: {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/NewThing' } } },
          },
          responses: {
            '201': {
              description: 'made',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
            },
          },
        },
      },
      '/things/{id}/file': {
        put: {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } },
          },
          responses: { '204': { description: 'stored' } },
        },
      },
    },
    components: {
      schemas: {
        NewThing: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            colour: { type: 'string', default: 'blue' },
            size: {
              type: 'object',
              properties: { width: { type: 'integer', default: 1 } },
            },
          },
          required: ['name'],
        },
        Thing: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            colour: { type: 'string', default: 'blue' },
          },
          required: ['name'],
        },
      },
    },
  } as unknown as OpenAPI3;

  it('lets a request body leave out what has a default, and says an answer has it', async () => {
    const source = await schemaSource(document);
    const block = (name: string) => {
      const start = source.indexOf(`    ${name}: {`);
      return source.slice(start, source.indexOf('\n    };', start));
    };
    // The api fills the defaults in: what it answers always has them.
    expect(block('Thing')).toMatch(/^\s+colour: string;$/m);
    // A caller may leave them out, nested ones too; the default is still said.
    expect(block('NewThing')).toMatch(/^\s+colour\?: string;$/m);
    expect(block('NewThing')).toMatch(/^\s+width\?: number;$/m);
    expect(block('NewThing')).toContain('@default blue');
    expect(block('NewThing')).toMatch(/^\s+name: string;$/m);
  });

  it('sends a binary body as a Blob', async () => {
    const source = await schemaSource(document);
    expect(source).toContain("'application/gzip': Blob;");
  });
});
