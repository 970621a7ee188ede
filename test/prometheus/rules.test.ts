import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../support/tools';

const run = promisify(execFile);
const promtool = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** The alerts Alertmanager forwards to the api, checked and unit-tested by Prometheus' own tool. */
describe('the RED alert rules temporal-dev.sh installs', () => {
  it('are valid rules', async () => {
    const { stdout } = await run(promtool, [
      'check',
      'rules',
      path.join(projectRoot, 'tools/prometheus/rules.yml'),
    ]);
    expect(stdout).toContain('SUCCESS: 3 rules found');
  });

  it('fire for the application whose errors rise and the machine that stops answering', async () => {
    const result = await run(promtool, [
      'test',
      'rules',
      path.join(projectRoot, 'test/prometheus/rules-test.yml'),
    ]).catch((error: { stdout: string; stderr: string }) => error);
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
  });
});
