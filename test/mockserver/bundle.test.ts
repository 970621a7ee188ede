import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  callJson,
  metricValue,
  projectRoot,
  spawnMockServer,
  type ChildServer,
} from './helpers';

// The flags of `npm run build:mockserver`. The banner gives the ESM bundle a `require`, which
// the CommonJS dependencies it inlines (pino, prom-client) call for Node built-ins.
const buildFlags: BuildOptions = {
  entryPoints: [path.join(projectRoot, 'mockserver/main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

const outDir = mkdtempSync(path.join(os.tmpdir(), 'mockserver-bundle-'));
const bundle = path.join(outDir, 'main.js');
let server: ChildServer;

beforeAll(async () => {
  await build({ ...buildFlags, outfile: bundle });
  // Run from a folder with no node_modules, as a deployed release would be.
  server = await spawnMockServer({
    bundle,
    cwd: outDir,
    args: [],
    env: {
      PORT: '0',
      RELGUARD_APP: 'bundled',
      RELGUARD_VERSION: 'v3.0.0',
      RELGUARD_MACHINE_ID: 'm-9',
    },
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(outDir, { recursive: true, force: true });
});

describe('esbuild bundle', () => {
  it('runs under plain node and answers /healthz', async () => {
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
  });

  it('serves /metrics with the app, version and instance labels', async () => {
    await call(`${server.url}/api/users/3`);
    const metrics = (await call(`${server.url}/metrics`)).body;
    const labels = { app: 'bundled', version: 'v3.0.0', instance: 'm-9' };
    expect(
      metricValue(metrics, 'http_requests_total', { ...labels, route: '/api/users/:id' }),
    ).toBe(1);
    expect(metricValue(metrics, 'mockserver_fault_active', { ...labels, type: 'cpu' })).toBe(0);
    expect(metricValue(metrics, 'process_resident_memory_bytes', labels)).toBeGreaterThan(0);
  });

  it('starts worker-thread faults from inside the bundle', async () => {
    const cpu = await callJson<{ id: string }>(`${server.url}/faults/cpu?percent=10&duration=2s`, {
      method: 'POST',
    });
    const memory = await callJson<{ id: string }>(`${server.url}/faults/memory?mb=8&duration=2s`, {
      method: 'POST',
    });
    expect([cpu.httpStatus, memory.httpStatus]).toEqual([201, 201]);
    const reset = await callJson<{ stopped: number }>(`${server.url}/faults/reset`, {
      method: 'POST',
    });
    expect(reset.stopped).toBe(2);
    expect(server.output()).not.toMatch(/burner failed|ballast failed/);
  });
});
