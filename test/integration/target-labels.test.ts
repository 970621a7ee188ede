import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeTargets } from '../../activities/prometheus-targets';
import { Machine, renderTemplate } from '../../domain';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';
import { projectRoot } from '../support/tools';

/**
 * A deployed process cannot impersonate another version, machine or app in the guard's queries
 * by labelling its own series: on a real Prometheus scraping the target file relguard writes
 * (machine m1 of shop, on v1.0.0), a process that claims `version="v2.0.0"`, `instance="m9"`,
 * and for one series `app="cart"` and `job="cart-nodes"`, is counted as shop v1.0.0 on m1 in
 * the relguard-nodes job; what it claimed is kept as `exported_*`.
 */

const run = promisify(execFile);

let prometheus: TestPrometheus;
let node: http.Server;
let requests = 0;

beforeAll(async () => {
  node = http.createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    // A counter of its own that grows with every scrape, so its rate is above 0.
    requests += 5;
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(
      [
        '# TYPE http_requests_total counter',
        `http_requests_total{app="shop",version="v2.0.0",instance="m9",route="/pay"} ${requests}`,
        `http_requests_total{app="cart",version="v2.0.0",instance="m9",job="cart-nodes",route="/cart"} ${requests}`,
        '',
      ].join('\n'),
    );
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
  const { port } = node.address() as AddressInfo;
  // The target file as the release writes it for a machine m1 of shop that runs v1.0.0.
  await writeTargets(prometheus.targetsDir, {
    name: 'shop',
    machines: [Machine.parse({ id: 'm1', host: '127.0.0.1', port, version: 'v1.0.0' })],
  });
});
afterAll(async () => {
  await prometheus?.stop();
  await new Promise((resolve) => node?.close(resolve));
});

interface VectorResponse {
  status: string;
  data: { result: { metric: Record<string, string> }[] };
}

/** The label sets of an instant query's series, sorted by route. */
async function series(promql: string): Promise<Record<string, string>[]> {
  const response = await fetch(
    `${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`,
  );
  const body = (await response.json()) as VectorResponse;
  expect(body.status).toBe('success');
  return body.data.result
    .map((result) => result.metric)
    .sort((a, b) => (a.route ?? '').localeCompare(b.route ?? ''));
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await delay(250);
  }
}

describe('the labels of a deployed target', () => {
  it("win over the process' own: it is counted as the version and machine relguard deployed", async () => {
    // The guard's selector for shop v1.0.0 on m1, as it renders a rate template.
    const rate = renderTemplate(
      'sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}[5s]))',
      { app: 'shop', version: 'v1.0.0', instances: ['m1'] },
    );
    expect(rate).toBe(
      'sum(rate(http_requests_total{app="shop",version="v1.0.0",instance=~"m1"}[5s]))',
    );
    const seen = await eventually(
      () => prometheus.query(rate),
      (value) => value !== undefined && value > 0,
    );
    expect(seen).toBeGreaterThan(0);

    // What the process claims selects nothing: not the version, the machine, nor the app.
    for (const claimed of [
      'http_requests_total{version="v2.0.0"}',
      'http_requests_total{app="shop",version="v2.0.0"}',
      'http_requests_total{instance="m9"}',
      'http_requests_total{app="cart"}',
      'http_requests_total{job="cart-nodes"}',
    ]) {
      expect(await series(claimed), claimed).toEqual([]);
    }

    // Both series are shop v1.0.0 on m1 in the job the alert rules select, the claims kept aside.
    const target = { app: 'shop', version: 'v1.0.0', instance: 'm1', job: 'relguard-nodes' };
    expect(await series('http_requests_total{job="relguard-nodes"}')).toEqual([
      {
        __name__: 'http_requests_total',
        ...target,
        route: '/cart',
        exported_app: 'cart',
        exported_version: 'v2.0.0',
        exported_instance: 'm9',
        exported_job: 'cart-nodes',
      },
      {
        __name__: 'http_requests_total',
        ...target,
        route: '/pay',
        exported_app: 'shop',
        exported_version: 'v2.0.0',
        exported_instance: 'm9',
      },
    ]);
    expect(await series('http_requests_total{exported_version="v2.0.0"}')).toHaveLength(2);
  });

  it('win in the relguard-nodes job temporal-dev.sh writes, as in the test Prometheus', async () => {
    const job = (config: string) =>
      (
        parse(config) as { scrape_configs: { job_name: string; honor_labels?: boolean }[] }
      ).scrape_configs.find((scrape) => scrape.job_name === 'relguard-nodes');

    // The script's own write_prometheus_config (everything above its command dispatch is
    // definitions), into a temporary state folder.
    const script = await readFile(path.join(projectRoot, 'temporal-dev.sh'), 'utf8');
    const dispatch = script.indexOf('\n[ $# -ge 1 ] || usage');
    expect(dispatch).toBeGreaterThan(0);
    const home = await mkdtemp(path.join(os.tmpdir(), 'relguard-target-labels-'));
    try {
      const definitions = path.join(home, 'definitions.sh');
      await writeFile(definitions, script.slice(0, dispatch));
      await run(
        'bash',
        [
          '-c',
          'source "$1" && ROOT=$2 && write_prometheus_config',
          'bash',
          definitions,
          projectRoot,
        ],
        { env: { ...process.env, RELGUARD_HOME: home } },
      );
      const written = job(await readFile(path.join(home, 'prometheus', 'prometheus.yml'), 'utf8'));
      expect(written?.honor_labels).toBe(false);
    } finally {
      await rm(home, { recursive: true, force: true });
    }

    // And the config the test Prometheus above runs with (false is Prometheus' default, which
    // it leaves out when it shows its config).
    const response = await fetch(`${prometheus.url}/api/v1/status/config`);
    const loaded = job(((await response.json()) as { data: { yaml: string } }).data.yaml);
    expect(loaded).toBeDefined();
    expect(loaded?.honor_labels ?? false).toBe(false);
  });
});
