import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OpenAPI3 } from 'openapi-typescript';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentFile, schemaFile, schemaSource } from '../../scripts/openapi-generate';

/**
 * The CLI and the console compile against the types generated from the api's document: a
 * route that changes under them fails their type check, naming what changed. Each case
 * generates the types from a changed copy of client/openapi.json and type-checks the CLI
 * (with client/) and the console against them, in place of client/schema.ts, with the
 * compiler options of their own tsconfig.
 */
const root = process.cwd();

interface Project {
  name: string;
  options: ts.CompilerOptions;
  rootNames: string[];
  /** Each file's parsed source, kept across programs: only the schema changes. */
  sources: Map<string, ts.SourceFile>;
}

function project(name: string, configFile: string, folders: string[]): Project {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(root, configFile), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error(`cannot read ${configFile}`);
  const rootNames = parsed.fileNames.filter((file) =>
    folders.some((folder) => file.startsWith(path.join(root, folder) + path.sep)),
  );
  return { name, options: parsed.options, rootNames, sources: new Map() };
}

/** `message (file)` of each error in the project's own folders, with `schema` as the types. */
function errors(target: Project, schema: string): string[] {
  const host = ts.createCompilerHost(target.options, true);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError, shouldCreate) => {
    if (path.resolve(fileName) === schemaFile)
      return ts.createSourceFile(fileName, schema, language);
    let source = target.sources.get(fileName);
    if (source === undefined) {
      source = read(fileName, language, onError, shouldCreate);
      if (source !== undefined) target.sources.set(fileName, source);
    }
    return source;
  };
  const program = ts.createProgram({ rootNames: target.rootNames, options: target.options, host });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => {
      const file = diagnostic.file?.fileName;
      return (
        file !== undefined &&
        ['cli', 'client', 'web/src'].some((folder) => file.startsWith(path.join(root, folder)))
      );
    })
    .map(
      (diagnostic) =>
        `${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')} (${path.relative(root, diagnostic.file!.fileName)})`,
    );
}

let document: OpenAPI3;
let cli: Project;
let web: Project;

/** The document as committed, changed by `change`, and the types generated from it. */
async function typesOf(change: (copy: OpenAPI3) => void): Promise<string> {
  const copy = structuredClone(document);
  change(copy);
  return await schemaSource(copy);
}

/** A component schema of the copy, to change. */
function component(copy: OpenAPI3, name: string) {
  const schema = copy.components?.schemas?.[name];
  if (schema === undefined) throw new Error(`the document has no schema ${name}`);
  return schema as { properties: Record<string, unknown>; required: string[] };
}

beforeAll(async () => {
  document = JSON.parse(await readFile(documentFile, 'utf8')) as OpenAPI3;
  cli = project('cli', 'tsconfig.json', ['cli', 'client']);
  web = project('console', 'web/tsconfig.json', ['web/src']);
  expect(cli.rootNames).toContain(path.join(root, 'cli', 'release.ts'));
  expect(web.rootNames).toContain(path.join(root, 'web', 'src', 'pages', 'release.tsx'));
});

describe('a route changed under the clients', () => {
  it('compiles the CLI and the console against the document as it is', async () => {
    const types = await typesOf(() => undefined);
    expect(errors(cli, types)).toEqual([]);
    expect(errors(web, types)).toEqual([]);
  }, 120_000);

  it('fails both where they call a path that was renamed', async () => {
    const types = await typesOf((copy) => {
      const paths = copy.paths ?? {};
      paths['/api/v1/releases/{id}'] = paths['/api/v1/deployments/{id}']!;
      delete paths['/api/v1/deployments/{id}'];
    });
    const renamed = /"\/api\/v1\/deployments\/\{id\}"' is not assignable/;
    expect(errors(cli, types)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`${renamed.source}.*\\(cli/watch\\.ts\\)$`, 's')),
        expect.stringMatching(new RegExp(`${renamed.source}.*\\(cli/release\\.ts\\)$`, 's')),
      ]),
    );
    expect(errors(web, types)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`${renamed.source}.*\\(web/src/pages/release\\.tsx\\)$`, 's'),
        ),
      ]),
    );
  }, 120_000);

  it('fails both where they read a field the answer no longer has', async () => {
    const types = await typesOf((copy) => {
      const deployment = component(copy, 'Deployment');
      delete deployment.properties.workflow_url;
      deployment.required = deployment.required.filter((name) => name !== 'workflow_url');
    });
    const missing = "Property 'workflow_url' does not exist";
    expect(errors(cli, types)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${missing}.*\\(cli/release\\.ts\\)$`, 's')),
        expect.stringMatching(new RegExp(`^${missing}.*\\(client/example\\.ts\\)$`, 's')),
      ]),
    );
    expect(errors(web, types)).toEqual([
      expect.stringMatching(new RegExp(`^${missing}.*\\(web/src/pages/release\\.tsx\\)$`, 's')),
    ]);
  }, 120_000);

  it('fails both where they send a field the body no longer takes', async () => {
    const types = await typesOf((copy) => {
      const create = component(copy, 'CreateDeployment');
      create.properties.version = create.properties.package_version;
      delete create.properties.package_version;
      create.required = create.required.map((name) =>
        name === 'package_version' ? 'version' : name,
      );
    });
    const unknown = "'package_version' does not exist in type";
    expect(errors(cli, types)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`${unknown}.*\\(cli/release\\.ts\\)$`, 's')),
      ]),
    );
    expect(errors(web, types)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`${unknown}.*\\(web/src/pages/start-release\\.tsx\\)$`, 's'),
        ),
      ]),
    );
  }, 120_000);
});
