import { versionArg } from './args';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { segment } from './api-client';
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
import type { ItemList, PackageBuildStarted, PackageRecord } from './types';

const defaultWaitSeconds = 900;

function describe(pkg: PackageRecord): string {
  return `${formatBytes(pkg.size)}, md5 ${pkg.md5}`;
}

const list: CommandSpec = {
  group: 'package',
  name: 'list',
  args: ['<app>'],
  summary: "list an application's packages, newest first",
  async run(context, input) {
    const app = await resolveApp(context.client, input.args[0]!);
    const packages = await context.client.get<ItemList<PackageRecord>>(
      `/api/v1/applications/${segment(app.id)}/packages`,
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
): Promise<PackageRecord> {
  const deadline = context.now() + timeoutSeconds * 1000;
  for (;;) {
    const { items } = await context.client.get<ItemList<PackageRecord>>(
      `/api/v1/applications/${segment(appId)}/packages`,
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
    const answer = await context.client.request<PackageRecord | PackageBuildStarted>(
      'POST',
      '/api/v1/packages',
      { app_id: app.id, version },
    );
    const show = (pkg: PackageRecord, state: string) => {
      if (context.json) printJson(context, pkg);
      else say(context, `package ${app.name} ${version} ${state}: ${describe(pkg)}`);
      return ExitCode.ok;
    };
    if (answer.status === 200) return show(answer.body as PackageRecord, 'exists');
    const started = answer.body as PackageBuildStarted;
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
    const { body } = await context.client.putBytes<PackageRecord>(
      `/api/v1/applications/${segment(app.id)}/packages/${segment(version)}?md5=${md5}&sha256=${sha256}`,
      bytes,
      'application/gzip',
    );
    if (context.json) printJson(context, body);
    else say(context, `package ${app.name} ${version} uploaded: ${describe(body)}`);
    return ExitCode.ok;
  },
};

export const packageCommands: CommandSpec[] = [list, build, upload];
