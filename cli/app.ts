import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { Application, ApplicationInput } from '../client';
import { body, type ApiClient } from './api-client';
import { printJson, say, stringOption, type CommandContext, type CommandSpec } from './context';
import { ApiError, ExitCode, UsageError } from './errors';
import {
  formatApiError,
  formatApplication,
  formatApplications,
  formatMachineEvents,
} from './format';

/** How many of the newest machine status changes `app get` shows. */
const recentMachineEvents = 10;

/**
 * An application by name or id. Names are what people type; the api's routes take ids, so
 * a name is looked up in the list.
 */
export async function resolveApp(client: ApiClient, ref: string): Promise<Application> {
  const { items } = body(await client.GET('/api/v1/applications'));
  const found = items.find((app) => app.name === ref) ?? items.find((app) => app.id === ref);
  if (found === undefined) {
    throw new ApiError(
      404,
      'not_found',
      `no application named "${ref}" (relguard app list shows them)`,
    );
  }
  return found;
}

/**
 * YAML or JSON (JSON is YAML), from a file or from stdin with `-`: a mapping, sent as it is.
 * Typed as the body it is meant to be; the api checks it and names each field it refuses.
 */
export async function readApplicationFile(
  context: CommandContext,
  file: string,
): Promise<ApplicationInput> {
  let text: string;
  try {
    text =
      file === '-'
        ? await context.io.readStdin()
        : await readFile(path.resolve(context.cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`cannot read ${file} (${code})`, 'app create');
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${file} is not valid YAML or JSON: ${message}`, 'app create');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new UsageError(
      `${file} must hold one application: a mapping of its fields`,
      'app create',
    );
  }
  return document as ApplicationInput;
}

const create: CommandSpec = {
  group: 'app',
  name: 'create',
  args: [],
  summary: 'create an application from a YAML or JSON file',
  description:
    'The file holds the fields of POST /api/v1/applications (see examples/app.yaml); `-f -` reads stdin. A field the api refuses is named by its path, e.g. machines.0.port.',
  options: {
    file: {
      type: 'string',
      short: 'f',
      value: 'FILE',
      description: 'the application, YAML or JSON',
      required: true,
    },
  },
  async run(context, input) {
    const document = await readApplicationFile(context, stringOption(input, 'file') ?? '-');
    const app = body(await context.client.POST('/api/v1/applications', { body: document }));
    if (context.json) {
      printJson(context, app);
    } else {
      say(
        context,
        `created application ${app.name} (${app.id}) with ${app.machine_count} machine(s)`,
      );
    }
    return ExitCode.ok;
  },
};

const list: CommandSpec = {
  group: 'app',
  name: 'list',
  args: [],
  summary: 'list the applications, unhealthy ones first',
  description:
    "Each application's machines by status (healthy of all, error, alert, unknown) and the worst of them; those with a machine in error come first, then alerting, then unknown. --json keeps the api's order.",
  async run(context) {
    const apps = body(await context.client.GET('/api/v1/applications'));
    if (context.json) printJson(context, apps);
    else say(context, ...formatApplications(apps.items));
    return ExitCode.ok;
  },
};

const get: CommandSpec = {
  group: 'app',
  name: 'get',
  args: ['<app>'],
  summary: 'show an application, by name or id',
  description: `Its settings, each machine's status with why and since when, and the newest ${recentMachineEvents} changes of the machines' statuses. --json prints the application alone.`,
  async run(context, input) {
    const app = await resolveApp(context.client, input.args[0]!);
    if (context.json) {
      printJson(context, app);
      return ExitCode.ok;
    }
    say(
      context,
      ...formatApplication(app, context.now()),
      '',
      ...(await machineEventLines(context, app)),
    );
    return ExitCode.ok;
  },
};

/**
 * The newest changes of the machines' statuses. The application is what was asked for and is
 * shown already: an api that cannot give its history (an older one answers 404) gets a line
 * saying so, not a failed command.
 */
async function machineEventLines(context: CommandContext, app: Application): Promise<string[]> {
  try {
    const { items } = body(
      await context.client.GET('/api/v1/applications/{id}/machine-events', {
        params: { path: { id: app.id }, query: { limit: recentMachineEvents } },
      }),
    );
    return formatMachineEvents(items);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return [`machine events: cannot read them: ${formatApiError(error)[0]!}`];
  }
}

export const appCommands: CommandSpec[] = [create, list, get];
