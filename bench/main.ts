/**
 * Runs the benches one after another, each as its own process (`node --import tsx
 * bench/<name>.ts` from the project root), streams their output, reads each one's result from
 * its last line (one JSON object) and ends with a markdown table of the figures. Exits non-zero
 * when a bench failed (a non-zero exit, or no result line), after the table of what did run.
 *
 *   npm run bench [-- --only api,guard] [-- --quick]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  benchFailed,
  markdownTable,
  parseResultLine,
  quickArgs,
  selectBenches,
  summaryRows,
  type BenchName,
  type BenchOutcome,
} from './summary';

const projectRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Runs one bench, its stdout streamed through and kept, its stderr passed on as it is. */
function runBench(name: BenchName, args: string[]): Promise<BenchOutcome> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join('bench', `${name}.ts`), ...args],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', (error) => {
      process.stderr.write(`bench ${name}: ${error.message}\n`);
      resolve({ name, exitCode: 1, result: undefined });
    });
    child.on('close', (code, signal) => {
      resolve({
        name,
        exitCode: code ?? (signal === null ? 1 : 128),
        result: parseResultLine(output),
      });
    });
  });
}

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});

let names: BenchName[];
try {
  names = selectBenches(values.only);
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

const outcomes: BenchOutcome[] = [];
for (const name of names) {
  const args = values.quick ? quickArgs[name] : [];
  process.stdout.write(`\n## bench ${name}${args.length === 0 ? '' : ` ${args.join(' ')}`}\n\n`);
  const started = Date.now();
  const outcome = await runBench(name, args);
  outcomes.push(outcome);
  process.stdout.write(
    `\nbench ${name}: ${benchFailed(outcome) ? 'FAILED' : 'done'} in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
}

process.stdout.write(`\n${markdownTable(outcomes.flatMap(summaryRows))}\n`);
const failed = outcomes.filter(benchFailed).map((outcome) => outcome.name);
if (failed.length > 0) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
