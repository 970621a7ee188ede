import { parseArgs } from 'node:util';
import { loadOptionsFromArgs, runLoad } from './load-generator';

const usage =
  'usage: load --targets http://127.0.0.1:4001[,http://...] [--rps 20] [--duration 60s] ' +
  '[--concurrency 256] [--timeout 5s]\nStops at --duration or on Ctrl-C; prints a JSON summary.';

async function main(): Promise<void> {
  let options;
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        targets: { type: 'string' },
        rps: { type: 'string' },
        duration: { type: 'string' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
      },
      strict: true,
    });
    options = loadOptionsFromArgs(values);
  } catch (error) {
    process.stderr.write(
      `load: ${error instanceof Error ? error.message : String(error)}\n${usage}\n`,
    );
    process.exit(2);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const until =
    options.durationMs === undefined ? 'Ctrl-C' : `${options.durationMs / 1000} s or Ctrl-C`;
  process.stderr.write(
    `load: ${options.rps} req/s over ${options.targets.join(', ')} until ${until}\n`,
  );
  const summary = await runLoad({ ...options, signal: controller.signal });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
