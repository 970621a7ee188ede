import { body } from './api-client';
import { flagOption, printJson, say, type CommandSpec } from './context';
import { ExitCode, UsageError } from './errors';
import { formatReport } from './format';

const show: CommandSpec = {
  group: 'analysis',
  name: 'show',
  args: ['<deployment>'],
  summary: "show a deployment's root-cause report",
  description:
    'The report an analysis wrote after a rollback or an alert: suspect metrics as PromQL, suspect pull requests, remediation. The api answers 404 (exit 2) until it is written.',
  options: {
    markdown: { type: 'boolean', description: 'the whole report as Markdown' },
  },
  async run(context, input) {
    const id = input.args[0]!;
    if (flagOption(input, 'markdown')) {
      if (context.json)
        throw new UsageError('--markdown and --json exclude each other', 'analysis show');
      const markdown = body(
        await context.client.GET('/api/v1/deployments/{id}/analysis', {
          params: { path: { id }, query: { format: 'markdown' } },
          headers: { accept: 'text/markdown' },
          parseAs: 'text',
        }),
      );
      context.io.stdout.write(markdown.endsWith('\n') ? markdown : `${markdown}\n`);
      return ExitCode.ok;
    }
    const report = body(
      await context.client.GET('/api/v1/deployments/{id}/analysis', { params: { path: { id } } }),
    );
    if (context.json) printJson(context, report);
    else say(context, ...formatReport(report));
    return ExitCode.ok;
  },
};

export const analysisCommands: CommandSpec[] = [show];
