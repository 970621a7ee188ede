import { segment } from './api-client';
import { flagOption, printJson, say, type CommandSpec } from './context';
import { ExitCode, UsageError } from './errors';
import { formatReport } from './format';
import type { AnalysisReport } from './types';

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
    const path = `/api/v1/deployments/${segment(input.args[0]!)}/analysis`;
    if (flagOption(input, 'markdown')) {
      if (context.json)
        throw new UsageError('--markdown and --json exclude each other', 'analysis show');
      const markdown = await context.client.getText(`${path}?format=markdown`, 'text/markdown');
      context.io.stdout.write(markdown.endsWith('\n') ? markdown : `${markdown}\n`);
      return ExitCode.ok;
    }
    const report = await context.client.get<AnalysisReport>(path);
    if (context.json) printJson(context, report);
    else say(context, ...formatReport(report));
    return ExitCode.ok;
  },
};

export const analysisCommands: CommandSpec[] = [show];
