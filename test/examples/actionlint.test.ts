import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, toolPaths } from '../support/tools';

const run = promisify(execFile);
const example = path.join(projectRoot, 'examples/github-actions/release.yml');
let scratch: string;
let workflow: string;

/**
 * actionlint's verdict on a workflow file: its exit code (0 clean, 1 problems found) and what
 * it printed. shellcheck and pyflakes are left out so that the verdict does not depend on
 * whether this machine happens to have them.
 */
async function actionlint(file: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(toolPaths().actionlint, [
      '-no-color',
      '-shellcheck=',
      '-pyflakes=',
      file,
    ]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** A copy of the example with one mistake, where actionlint (and GitHub) would see it. */
async function brokenCopy(name: string, from: string, to: string): Promise<string> {
  expect(workflow).toContain(from);
  const file = path.join(scratch, `${name}.yml`);
  await writeFile(file, workflow.replace(from, to));
  return file;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'relguard-actionlint-'));
  workflow = await readFile(example, 'utf8');
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('examples/github-actions/release.yml', () => {
  it('passes actionlint', async () => {
    const { code, output } = await actionlint(example);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('would fail it with a mistyped key', async () => {
    const file = await brokenCopy('key-typo', 'runs-on: ubuntu-latest', 'runs_on: ubuntu-latest');
    const { code, output } = await actionlint(file);
    expect(code).toBe(1);
    expect(output).toMatch(/unexpected key "runs_on"/);
    expect(output).toMatch(/"runs-on" section is missing/);
  });

  it('would fail it with an expression naming a property that does not exist', async () => {
    const file = await brokenCopy(
      'bad-expression',
      '${{ steps.package.outputs.file }}',
      '${{ steps.packag.outputs.file }}',
    );
    const { code, output } = await actionlint(file);
    expect(code).toBe(1);
    expect(output).toMatch(/property "packag" is not defined/);
  });
});
