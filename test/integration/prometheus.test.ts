import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type TestPrometheus } from '../support/prometheus';

let prometheus: TestPrometheus;
let node: http.Server;
let gauge = 7;

beforeAll(async () => {
  node = http.createServer((request, response) => {
    response.writeHead(request.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain' });
    response.end(`# TYPE relguard_probe gauge\nrelguard_probe ${gauge}\n`);
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
});
afterAll(async () => {
  await prometheus?.stop();
  await new Promise((resolve) => node?.close(resolve));
});

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await delay(250);
  }
}

describe('Prometheus with file service discovery', () => {
  it('scrapes a node from the moment its target file appears, with its labels', async () => {
    const { port } = node.address() as AddressInfo;
    await prometheus.addTargets('shop', [
      {
        targets: [`127.0.0.1:${port}`],
        labels: { app: 'shop', version: 'v1.0.0', instance: 'm1' },
      },
    ]);
    const query = 'relguard_probe{app="shop",version="v1.0.0",instance="m1"}';
    expect(
      await eventually(
        () => prometheus.query(query),
        (v) => v === 7,
      ),
    ).toBe(7);

    gauge = 9;
    expect(
      await eventually(
        () => prometheus.query(query),
        (v) => v === 9,
      ),
    ).toBe(9);
  });

  it('stops scraping a node when its targets are removed', async () => {
    await prometheus.addTargets('shop', []);
    const up = await eventually(
      () => prometheus.query('count(up{app="shop"})'),
      (v) => v === undefined,
    );
    expect(up).toBeUndefined();
  });
});
