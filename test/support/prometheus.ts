import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { httpOk, startService } from './service';
import { toolPaths } from './tools';

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface TestPrometheus {
  url: string;
  targetsDir: string;
  /** Writes (or replaces) `<targetsDir>/<jobName>.json`, which Prometheus picks up within a second. */
  addTargets(jobName: string, groups: TargetGroup[]): Promise<void>;
  /** The value of an instant query, or undefined when it has no result. */
  query(promql: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

interface QueryResponse {
  status: string;
  data: { result: { value: [number, string] }[] };
}

/**
 * A real Prometheus of the test's own on a free loopback port, scraping the targets written
 * into its file service discovery folder, as temporal-dev.sh sets it up: the labels of a target
 * group (app, version, instance, as relguard writes them) are the series' labels, not the ones
 * the scraped process exports itself.
 */
export async function startPrometheus(
  options: { targetsDir?: string; scrapeIntervalSeconds?: number } = {},
): Promise<TestPrometheus> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'relguard-prometheus-'));
  const targetsDir = options.targetsDir ?? path.join(home, 'targets');
  await mkdir(targetsDir, { recursive: true });
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const configFile = path.join(home, 'prometheus.yml');
  await writeFile(
    configFile,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'scrape_configs:',
      '  - job_name: relguard-nodes',
      // The target file's labels win over those the process puts on its own series (kept as
      // exported_*), so that a process cannot impersonate another version or app.
      '    honor_labels: false',
      '    file_sd_configs:',
      `      - files: ['${targetsDir}/*.json']`,
      '        refresh_interval: 1s',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await startService(
    'prometheus',
    toolPaths().prometheus,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(home, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    () => httpOk(`${url}/-/ready`),
  );
  return {
    url,
    targetsDir,
    async addTargets(jobName, groups) {
      // Written whole then renamed, so Prometheus never reads half a file.
      const file = path.join(targetsDir, `${jobName}.json`);
      await writeFile(`${file}.tmp`, JSON.stringify(groups));
      await rename(`${file}.tmp`, file);
    },
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as QueryResponse;
      if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
      const first = body.data.result[0];
      return first === undefined ? undefined : Number(first.value[1]);
    },
    async stop() {
      await service.stop();
      await rm(home, { force: true, recursive: true });
    },
  };
}
