import { versionArg } from './args';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Package } from '../client';
import { body } from './api-client';
import { resolveApp } from './app';
import {
  flagOption,
  printJson,
  say,
  stringOption,
  type CommandContext,
  type CommandSpec,
} from './context';
import { ApiError, ExitCode, UsageError } from './errors';
import { formatBytes, formatPackages } from './format';

const defaultWaitSeconds = 900;

function describe(pkg: Package): string {
  return `${formatBytes(pkg.size)}, md5 ${pkg.md5}`;
}

const list: CommandSpec = {
  group: 'package',
  name: 'list',
  args: ['<app>'],
  summary: "list an application's packages, newest first",
  async run(context, input) {
    const app = await resolveApp(context.client, input.args[0]!);
    const packages = body(
      await context.client.GET('/api/v1/applications/{id}/packages', {
        params: { path: { id: app.id } },
      }),
    );
    if (context.json) printJson(context, packages);
    else say(context, ...formatPackages(packages.items));
    return ExitCode.ok;
  },
};

/** Polls the package list until the version is in it: the build has no status route. */
async function waitForPackage(
  context: CommandContext,
  appId: string,
  version: string,
  timeoutSeconds: number,
  workflowUrl: string,
): Promise<Package> {
  const deadline = context.now() + timeoutSeconds * 1000;
  for (;;) {
    const { items } = body(
      await context.client.GET('/api/v1/applications/{id}/packages', {
        params: { path: { id: appId } },
      }),
    );
    const found = items.find((pkg) => pkg.version === version);
    if (found !== undefined) return found;
    if (context.now() >= deadline) {
      throw new ApiError(
        504,
        'timeout',
        `the package of ${version} did not appear within ${timeoutSeconds}s; its build: ${workflowUrl}`,
      );
    }
    await context.sleep(1000);
  }
}

const build: CommandSpec = {
  group: 'package',
  name: 'build',
  args: ['<app>', '<version>'],
  summary: "build and store a version's package from its git tag",
  description:
    'POST /api/v1/packages: nothing to do when the package exists, else the build starts. With --wait, returns when the package is in the store.',
  options: {
    wait: { type: 'boolean', description: 'wait until the package is stored' },
    timeout: {
      type: 'string',
      value: 'SECONDS',
      description: `how long --wait waits (default ${defaultWaitSeconds})`,
    },
  },
  async run(context, input) {
    const [appRef, rawVersion] = input.args as [string, string];
    const version = versionArg(rawVersion, 'package build');
    const timeoutText = stringOption(input, 'timeout');
    const timeoutSeconds = timeoutText === undefined ? defaultWaitSeconds : Number(timeoutText);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new UsageError(
        `--timeout must be a number of seconds, not "${timeoutText}"`,
        'package build',
      );
    }
    const app = await resolveApp(context.client, appRef);
    const answer = body(
      await context.client.POST('/api/v1/packages', { body: { app_id: app.id, version } }),
    );
    const show = (pkg: Package, state: string) => {
      if (context.json) printJson(context, pkg);
      else say(context, `package ${app.name} ${version} ${state}: ${describe(pkg)}`);
      return ExitCode.ok;
    };
    // 200 is the package, which exists; 202 the build that started.
    if (!('workflow_id' in answer)) return show(answer, 'exists');
    const started = answer;
    say(
      context,
      `building ${app.name} ${version} (${started.workflow_id}): ${started.workflow_url}`,
    );
    if (!flagOption(input, 'wait')) {
      if (context.json) printJson(context, started);
      return ExitCode.ok;
    }
    const url = started.workflow_url;
    return show(await waitForPackage(context, app.id, version, timeoutSeconds, url), 'stored');
  },
};

const upload: CommandSpec = {
  group: 'package',
  name: 'upload',
  args: ['<app>', '<version>'],
  summary: 'upload a package built elsewhere (a CI job) into the configured store',
  description:
    'PUT /api/v1/applications/{id}/packages/{version} with the .tar.gz and its MD5, computed here: the api refuses a package that arrived different, and a version that has a package already.',
  options: {
    file: {
      type: 'string',
      short: 'f',
      value: 'FILE',
      description: 'the package, a .tar.gz',
      required: true,
    },
  },
  async run(context, input) {
    const [appRef, rawVersion] = input.args as [string, string];
    const version = versionArg(rawVersion, 'package upload');
    const file = stringOption(input, 'file') ?? '';
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new UsageError(
        `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
        'package upload',
      );
    }
    const app = await resolveApp(context.client, appRef);
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const stored = body(
      await context.client.PUT('/api/v1/applications/{id}/packages/{version}', {
        params: { path: { id: app.id, version }, query: { md5, sha256 } },
        body: new Blob([bytes]),
        bodySerializer: (blob) => blob,
        headers: { 'content-type': 'application/gzip' },
      }),
    );
    if (context.json) printJson(context, stored);
    else say(context, `package ${app.name} ${version} uploaded: ${describe(stored)}`);
    return ExitCode.ok;
  },
};

export const packageCommands: CommandSpec[] = [list, build, upload];
