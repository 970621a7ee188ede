import { versionArg } from './args';
import { channelLookup } from './alerts';
import { body } from './api-client';
import { resolveApp } from './app';
import {
  flagOption,
  printJson,
  say,
  stringOption,
  type CommandContext,
  type CommandInput,
  type CommandSpec,
  type OptionSpec,
} from './context';
import { ExitCode, UsageError } from './errors';
import { outcomeLines, releaseFrame } from './format';
import { exitCodeOfRelease, watchRelease } from './watch';

const intervalOption: OptionSpec = {
  type: 'string',
  value: 'SECONDS',
  description: 'time between refreshes (default 1)',
};

/** A pipeline's token acts for a person; the api records both (`ci for alice`). */
const requestedByOption: OptionSpec = {
  type: 'string',
  value: 'NAME',
  description: 'the person this is done for, recorded beside the token',
};

function requestedBy(input: CommandInput): { requested_by?: string } {
  const name = stringOption(input, 'requested-by');
  return name === undefined ? {} : { requested_by: name };
}

function intervalMs(input: CommandInput, command: string): number {
  const text = stringOption(input, 'interval');
  if (text === undefined) return 1000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600) {
    throw new UsageError(`--interval must be seconds between 0.1 and 3600, not "${text}"`, command);
  }
  return Math.round(seconds * 1000);
}

/**
 * Follows a release to its end and exits with its code. A terminal gets a view redrawn in
 * place; a log gets a line per change. With --json the JSON alone goes to stdout, at the end.
 */
async function follow(context: CommandContext, deploymentId: string, everyMs: number) {
  const live = !context.json && context.io.stdout.isTTY === true;
  const out = context.json ? context.io.stderr : context.io.stdout;
  const ended = await watchRelease(context, deploymentId, { intervalMs: everyMs, live, out });
  if (context.json) printJson(context, ended);
  say(context, ...outcomeLines(ended, await channelLookup(context)(ended)));
  return exitCodeOfRelease(ended.status) ?? ExitCode.ok;
}

const start: CommandSpec = {
  group: 'release',
  name: 'start',
  args: ['<app>', '<version>'],
  summary: 'start a release of a version (a git tag or an uploaded package)',
  description:
    'With --wait, follows it like `release watch` and exits with its outcome: 0 succeeded, 3 rolled back, 4 failed, 5 cancelled.',
  options: {
    gray: {
      type: 'string',
      value: 'MACHINE',
      description: "the gray machine's id (default the first machine)",
    },
    wait: { type: 'boolean', description: 'follow the release to its end' },
    interval: intervalOption,
    'requested-by': requestedByOption,
  },
  async run(context, input) {
    const [appRef, rawVersion] = input.args as [string, string];
    const version = versionArg(rawVersion, 'release start');
    const everyMs = intervalMs(input, 'release start');
    const app = await resolveApp(context.client, appRef);
    const gray = stringOption(input, 'gray');
    const started = body(
      await context.client.POST('/api/v1/deployments', {
        body: {
          app_id: app.id,
          package_version: version,
          ...(gray === undefined ? {} : { gray_machine_id: gray }),
          ...requestedBy(input),
        },
      }),
    );
    const wait = flagOption(input, 'wait');
    if (context.json && !wait) {
      printJson(context, started);
      return ExitCode.ok;
    }
    say(
      context,
      `release ${started.id} started: ${app.name} ${version} on ${started.node_deployments.length} machine(s), gray machine ${started.gray_machine_id}`,
      `workflow ${started.workflow_url}`,
    );
    if (!wait) {
      say(context, `follow it: relguard release watch ${started.id}`);
      return ExitCode.ok;
    }
    return await follow(context, started.id, everyMs);
  },
};

const status: CommandSpec = {
  group: 'release',
  name: 'status',
  args: ['<deployment>'],
  summary: 'show a release: status, batches, machines, why it stopped',
  async run(context, input) {
    const view = body(
      await context.client.GET('/api/v1/deployments/{id}', {
        params: { path: { id: input.args[0]! } },
      }),
    );
    if (context.json) printJson(context, view);
    else say(context, ...releaseFrame(view, context.now(), await channelLookup(context)(view)));
    return ExitCode.ok;
  },
};

const watch: CommandSpec = {
  group: 'release',
  name: 'watch',
  args: ['<deployment>'],
  summary: 'follow a release live to its end; exits with its outcome',
  description:
    'On a terminal the view is redrawn in place every second; in a log or a pipe a line is printed for each change. Exits 0 succeeded, 3 rolled back, 4 failed, 5 cancelled.',
  options: { interval: intervalOption },
  async run(context, input) {
    return await follow(context, input.args[0]!, intervalMs(input, 'release watch'));
  },
};

const actions = {
  pause: 'pause a release (bakes and intervals stop counting)',
  resume: 'resume a paused release',
  approve: 'approve a release waiting after its gray machine',
  promote: 'end the wait a release is in (bake, interval, verification window) now',
  rollback: 'roll a release back: its machines return to the previous version',
  cancel: 'stop a release where it is, machines as they are',
} as const;

type Action = keyof typeof actions;

const actionCommands = (Object.entries(actions) as [Action, string][]).map(
  ([action, summary]): CommandSpec => ({
    group: 'release',
    name: action,
    args: ['<deployment>'],
    summary,
    options: {
      reason: { type: 'string', value: 'R', description: 'why, for the record and the alerts' },
      'requested-by': requestedByOption,
    },
    async run(context, input) {
      const id = input.args[0]!;
      const reason = stringOption(input, 'reason');
      const view = body(
        await context.client.POST(`/api/v1/deployments/{id}/${action}`, {
          params: { path: { id } },
          body: { ...(reason === undefined ? {} : { reason }), ...requestedBy(input) },
        }),
      );
      if (context.json) printJson(context, view);
      else
        say(context, `${action} sent to release ${id} (${view.app_name} ${view.package_version})`);
      return ExitCode.ok;
    },
  }),
);

export const releaseCommands: CommandSpec[] = [start, status, watch, ...actionCommands];
