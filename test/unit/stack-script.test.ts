import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { relguardSearchAttributes } from '../../domain';
import { projectRoot } from '../support/tools';

const run = promisify(execFile);
// As test/prometheus/rules.test.ts finds it: Debian's prometheus package, which the script installs.
const promtool = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

describe('temporal-dev.sh', () => {
  const script = readFileSync(path.join(projectRoot, 'temporal-dev.sh'), 'utf8');

  it('registers exactly the search attributes the workflows use', () => {
    const registered = /SEARCH_ATTRIBUTES=\(([^)]*)\)/.exec(script)?.[1]?.trim().split(/\s+/);
    expect(registered).toEqual(
      relguardSearchAttributes.map((attribute) => `${attribute.name}=Keyword`),
    );
  });

  it('is what .ci/run calls', () => {
    const ci = readFileSync(path.join(projectRoot, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/\.\/temporal-dev\.sh test/);
  });

  /**
   * The script's own write_prometheus_config, with the script's own defaults: everything above
   * the command dispatch is definitions, so it runs without starting anything. Returns the
   * prometheus.yml it writes into a temporary state folder, and promtool's verdict on it.
   */
  async function writtenPrometheusConfig(scrapeInterval: string | undefined) {
    const dispatch = script.indexOf('\n[ $# -ge 1 ] || usage');
    expect(dispatch).toBeGreaterThan(0);
    const home = await mkdtemp(path.join(os.tmpdir(), 'relguard-stack-config-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, RELGUARD_HOME: home };
      delete env.RELGUARD_SCRAPE_INTERVAL;
      if (scrapeInterval !== undefined) env.RELGUARD_SCRAPE_INTERVAL = scrapeInterval;
      const definitions = path.join(home, 'definitions.sh');
      await writeFile(definitions, script.slice(0, dispatch));
      // Sourced from the temporary folder, the script takes that for its ROOT: set it back.
      const { stderr } = await run(
        'bash',
        [
          '-c',
          'source "$1" && ROOT=$2 && write_prometheus_config',
          'bash',
          definitions,
          projectRoot,
        ],
        { env },
      );
      expect(stderr).toBe('');
      const file = path.join(home, 'prometheus', 'prometheus.yml');
      // promtool exits non-zero, and run rejects, on a config Prometheus would refuse.
      const check = await run(promtool, ['check', 'config', file]);
      return { yaml: await readFile(file, 'utf8'), check: check.stdout + check.stderr };
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }

  it('writes a Prometheus config scraping every 5 s by default, valid to promtool', async () => {
    const { yaml, check } = await writtenPrometheusConfig(undefined);
    expect(yaml).toMatch(/^ {2}scrape_interval: 5s$/m);
    expect(check).toMatch(/SUCCESS/);
  });

  it('writes the scrape interval RELGUARD_SCRAPE_INTERVAL gives', async () => {
    const { yaml, check } = await writtenPrometheusConfig('250ms');
    expect(yaml).toMatch(/^ {2}scrape_interval: 250ms$/m);
    expect(check).toMatch(/SUCCESS/);
  });

  it.each([
    [['logs', 'tempral'], /no service 'tempral'; the services are: temporal ferretdb/],
    [['logs', 'api'], /api has no log yet .*up starts it/],
    [['logs'], /no logs yet in .*up starts the stack/],
  ])(
    'refuses %j with a reason instead of waiting for a log that is not there',
    async (args, reason) => {
      const home = await mkdtemp(path.join(os.tmpdir(), 'relguard-stack-logs-'));
      try {
        const failed = await run(path.join(projectRoot, 'temporal-dev.sh'), args, {
          env: { ...process.env, RELGUARD_HOME: home },
          timeout: 10_000,
        }).then(
          () => undefined,
          (error: unknown) => error as { code: number; stderr: string },
        );
        expect(failed?.code).toBe(1);
        expect(failed?.stderr).toMatch(reason);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    },
  );
});
