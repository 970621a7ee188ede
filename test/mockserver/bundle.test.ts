import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  callJson,
  metricValue,
  projectRoot,
  spawnMockServer,
  type ChildServer,
} from './helpers';
import { buildMockserverBundle, mockserverBanner } from '../support/mockserver-bundle';

const outDir = mkdtempSync(path.join(os.tmpdir(), 'mockserver-bundle-'));
const bundle = path.join(outDir, 'main.js');
let server: ChildServer;

beforeAll(async () => {
  await buildMockserverBundle(bundle);
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
  it('is built with the flags of npm run build:mockserver', () => {
    const scripts = (
      JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    const script = scripts['build:mockserver'] ?? '';
    for (const flag of ['--bundle', '--platform=node', '--target=node20', '--format=esm']) {
      expect(script).toContain(flag);
    }
    expect(script).toContain(`--banner:js=${mockserverBanner}`);
  });

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
