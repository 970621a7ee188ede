import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultView } from '../../mockserver/faults/registry';
import {
  busyThreads,
  call,
  callJson,
  cpuPercent,
  cpuSeconds,
  metricValue,
  pollUntil,
  rssMb,
  runToExit,
  sleep,
  spawnMockServer,
  threadCpuMs,
  watchEffectEnd,
  type ChildServer,
} from './helpers';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'mockserver-resources-'));
const diskDir = path.join(workDir, 'disk');
let server: ChildServer;

beforeAll(async () => {
  server = await spawnMockServer({ args: ['--port', '0', '--disk-dir', diskDir] });
});
afterEach(async () => {
  await call(`${server.url}/faults/reset`, { method: 'POST' });
});
afterAll(async () => {
  await server.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const startFault = (spec: unknown) =>
  callJson<FaultView>(`${server.url}/faults`, { method: 'POST', body: spec });

/** Process CPU over `ms` (share of one core) and the threads that burned `minPercent` of one. */
async function measureCpu(ms: number, minPercent = 20) {
  const cpuBefore = cpuSeconds(server.pid);
  const started = performance.now();
  const burners = await busyThreads(server.pid, ms, minPercent);
  const elapsedSeconds = (performance.now() - started) / 1000;
  return { percent: ((cpuSeconds(server.pid) - cpuBefore) / elapsedSeconds) * 100, burners };
}

/**
 * When the burner threads stopped: a sample is "on" when any of them gained CPU time since the
 * previous one (20 ms earlier). A burner idles up to (100 - percent)% of each 100 ms slice,
 * so its last burst may end that long before the deadline; the threads exit soon after.
 */
function watchBurnersEnd(burners: Map<number, number>, untilMs: number) {
  let previous = threadCpuMs(server.pid);
  return watchEffectEnd(() => {
    const current = threadCpuMs(server.pid);
    const burning = [...burners.keys()].some(
      (tid) => (current.get(tid) ?? 0) - (previous.get(tid) ?? Infinity) > 0.5,
    );
    previous = current;
    return burning;
  }, untilMs);
}

/**
 * When the resident set fell back: "on" while it is still grown by more than half of `mb`.
 * RSS can be timed this closely because the ballast is one mmap'd block that goes back to the
 * OS when its worker thread is terminated, not whenever a garbage collection runs.
 */
function watchMemoryEnd(baselineMb: number, mb: number, untilMs: number) {
  return watchEffectEnd(() => rssMb(server.pid) - baselineMb > mb / 2, untilMs);
}

const deadlineOf = (fault: FaultView) => Date.parse(fault.ends_at ?? '');

describe('cpu fault', () => {
  it('burns the asked share of a core in a thread, and stops at the end', async () => {
    const idle = await cpuPercent(server.pid, 1_000);
    expect(idle).toBeLessThan(15);

    const fault = await startFault({ type: 'cpu', params: { percent: 50, cores: 1 } });
    expect(fault.httpStatus).toBe(201);
    await sleep(300);
    const [burning, health] = await Promise.all([
      cpuPercent(server.pid, 2_000),
      call(`${server.url}/healthz`),
    ]);
    expect(burning).toBeGreaterThan(50 - 15);
    expect(burning).toBeLessThan(50 + 15);
    // The event loop stays free while the burner spins.
    expect(health.ms).toBeLessThan(100);

    await call(`${server.url}/faults/${fault.id}`, { method: 'DELETE' });
    expect(await cpuPercent(server.pid, 1_000)).toBeLessThan(15);
  });

  // 2 × 25% asks no more than the 1-core test: CI runs two test files at once on two cores,
  // and a burner cannot get CPU the machine does not have.
  it('burns 25% of each of 2 cores in two threads until its deadline (±200 ms)', async () => {
    const fault = await startFault({
      type: 'cpu',
      params: { percent: 25, cores: 2 },
      duration: '3500ms',
    });
    expect(fault.httpStatus).toBe(201);
    await sleep(300);
    const { percent, burners } = await measureCpu(2_000, 10);
    expect(percent).toBeGreaterThan(50 - 15);
    expect(percent).toBeLessThan(50 + 15);
    expect(burners.size).toBe(2);

    const deadline = deadlineOf(fault);
    const end = await watchBurnersEnd(burners, deadline + 600);
    expect(end.lastOnAt - deadline).toBeGreaterThanOrEqual(-200);
    expect(end.firstOffAt - deadline).toBeLessThanOrEqual(200);
    // The threads are gone, not just idle, and the process is back to idle.
    const threads = threadCpuMs(server.pid);
    expect([...burners.keys()].filter((tid) => threads.has(tid))).toEqual([]);
    const after = await cpuPercent(server.pid, 1_000);
    expect(after).toBeLessThan(15);
  });
});

describe('memory fault', () => {
  it('grows the resident set by the asked MB and gives it back at its deadline', async () => {
    const before = rssMb(server.pid);
    const fault = await startFault({ type: 'memory', params: { mb: 256 }, duration: '1500ms' });
    expect(fault.httpStatus).toBe(201);
    const grown = await pollUntil(() => {
      const growth = rssMb(server.pid) - before;
      return growth >= 256 * 0.95 ? growth : undefined;
    });
    expect(grown).toBeLessThan(256 + 64);

    const deadline = deadlineOf(fault);
    const end = await watchMemoryEnd(before, 256, deadline + 600);
    expect(end.lastOnAt - deadline).toBeGreaterThanOrEqual(-200);
    expect(end.firstOffAt - deadline).toBeLessThanOrEqual(200);
    expect(rssMb(server.pid) - before).toBeLessThan(64);
    expect((await callJson<{ faults: FaultView[] }>(`${server.url}/faults`)).faults).toEqual([]);
  });

  it('grows at the asked rate', async () => {
    const before = rssMb(server.pid);
    const fault = await startFault({
      type: 'memory',
      params: { mb: 200, rate: 200 },
      duration: '3s',
    });
    expect(fault.params).toEqual({ mb: 200, rate: 200 });
    await sleep(400);
    // About 80 MB by now: clearly growing, clearly not all at once.
    const early = rssMb(server.pid) - before;
    expect(early).toBeGreaterThan(20);
    expect(early).toBeLessThan(170);
    const status = await pollUntil(async () => {
      const view = await callJson<FaultView>(`${server.url}/faults/${fault.id}`);
      return view.status?.allocated_mb === 200 ? view : undefined;
    });
    expect(rssMb(server.pid) - before).toBeGreaterThan(190);
    expect(status.remaining_ms).toBeGreaterThan(0);
    await call(`${server.url}/faults/${fault.id}`, { method: 'DELETE' });
  });

  it('takes percent as a share of the total memory the host reports (os.totalmem)', async () => {
    // Aim at about 128 MB whatever the host's size; the server rounds to whole MB.
    const totalMb = os.totalmem() / (1024 * 1024);
    const percent = Math.round((128 / totalMb) * 100 * 1000) / 1000;
    const expectedMb = Math.round((percent / 100) * totalMb);
    const before = rssMb(server.pid);
    const fault = await startFault({ type: 'memory', params: { percent }, duration: '1500ms' });
    expect(fault.httpStatus).toBe(201);
    expect(fault.params).toEqual({ percent, mb: expectedMb });
    const grown = await pollUntil(() => {
      const growth = rssMb(server.pid) - before;
      return growth >= expectedMb * 0.95 ? growth : undefined;
    });
    expect(grown).toBeLessThan(expectedMb + 64);
    const deadline = deadlineOf(fault);
    const end = await watchMemoryEnd(before, expectedMb, deadline + 600);
    expect(end.lastOnAt - deadline).toBeGreaterThanOrEqual(-200);
    expect(end.firstOffAt - deadline).toBeLessThanOrEqual(200);
  });
});

describe('disk fault', () => {
  it('writes the asked MB in its own folder and removes it at its deadline', async () => {
    const fault = await startFault({ type: 'disk', params: { mb: 24 }, duration: '2s' });
    const file = path.join(diskDir, `${fault.id}.bin`);
    const size = await pollUntil(() => {
      const bytes = existsSync(file) ? statSync(file).size : 0;
      return bytes === 24 * 1024 * 1024 ? bytes : undefined;
    });
    expect(size).toBe(24 * 1024 * 1024);

    const deadline = deadlineOf(fault);
    const end = await watchEffectEnd(() => existsSync(file), deadline + 600, 10);
    expect(end.lastOnAt - deadline).toBeGreaterThanOrEqual(-200);
    expect(end.firstOffAt - deadline).toBeLessThanOrEqual(200);
    // The file goes first, then the folder it was the last tenant of.
    await pollUntil(() => (existsSync(diskDir) ? undefined : true), { timeoutMs: 3_000 });
  });
});

describe('several resource faults at once', () => {
  it('runs cpu and memory side by side, each measured alone and ending at its own deadline', async () => {
    const cpu = await startFault({
      type: 'cpu',
      params: { percent: 50, cores: 1 },
      duration: '5s',
    });
    expect(cpu.httpStatus).toBe(201);
    // The burner's own thread costs some MB: the memory baseline is taken once it runs.
    await sleep(300);
    const before = rssMb(server.pid);
    const memory = await startFault({ type: 'memory', params: { mb: 192 }, duration: '2s' });
    expect(memory.httpStatus).toBe(201);
    await pollUntil(() => (rssMb(server.pid) - before >= 192 * 0.95 ? true : undefined));

    // Both at once: the CPU is what the cpu fault asked, the memory what the memory fault asked.
    const together = await measureCpu(1_500);
    expect(together.percent).toBeGreaterThan(50 - 15);
    expect(together.percent).toBeLessThan(50 + 15);
    expect(together.burners.size).toBe(1);
    const heldMb = rssMb(server.pid) - before;
    expect(heldMb).toBeGreaterThan(192 * 0.95);
    expect(heldMb).toBeLessThan(192 + 64);

    // The memory fault ends at its deadline while the cpu fault keeps burning.
    const memoryDeadline = deadlineOf(memory);
    const memoryEnd = await watchMemoryEnd(before, 192, memoryDeadline + 400);
    expect(memoryEnd.lastOnAt - memoryDeadline).toBeGreaterThanOrEqual(-200);
    expect(memoryEnd.firstOffAt - memoryDeadline).toBeLessThanOrEqual(200);
    const alone = await measureCpu(1_000);
    expect(alone.percent).toBeGreaterThan(50 - 15);
    expect(alone.percent).toBeLessThan(50 + 15);
    expect([...alone.burners.keys()]).toEqual([...together.burners.keys()]);

    const cpuDeadline = deadlineOf(cpu);
    const cpuEnd = await watchBurnersEnd(together.burners, cpuDeadline + 600);
    expect(cpuEnd.lastOnAt - cpuDeadline).toBeGreaterThanOrEqual(-200);
    expect(cpuEnd.firstOffAt - cpuDeadline).toBeLessThanOrEqual(200);
    expect(rssMb(server.pid) - before).toBeLessThan(64);
  });
});

describe('crash fault', () => {
  it('exits the process with code 1 after the delay, leaving no disk fault file', async () => {
    const doomedDiskDir = path.join(workDir, 'doomed-disk');
    const doomed = await spawnMockServer({ args: ['--port', '0', '--disk-dir', doomedDiskDir] });
    try {
      const disk = await startFaultAt(doomed.url, { type: 'disk', params: { mb: 2 } });
      const file = path.join(doomedDiskDir, `${disk.id}.bin`);
      await pollUntil(() => (existsSync(file) ? true : undefined));
      const started = Date.now();
      await startFaultAt(doomed.url, { type: 'crash', params: { delay_ms: 300 } });
      expect(await doomed.exited).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      expect(doomed.output()).toContain('crash fault');
      expect(existsSync(file)).toBe(false);
    } finally {
      await doomed.stop();
    }
  });

  it('never crashes when its duration ends before the delay', async () => {
    await startFault({ type: 'crash', params: { delay_ms: 800 }, duration: '200ms' });
    await sleep(1_000);
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('config file and environment', () => {
  it('starts config faults at boot and labels everything from the RELGUARD_ variables', async () => {
    const releaseDir = mkdtempSync(path.join(workDir, 'release-'));
    writeFileSync(
      path.join(releaseDir, 'mockserver.config.json'),
      JSON.stringify({
        faults: [
          { type: 'error', params: { rate: 1, routes: ['/api/pay'] } },
          { type: 'latency', params: { ms: 30 }, duration: '1m' },
        ],
      }),
    );
    const release = await spawnMockServer({
      cwd: releaseDir,
      args: [],
      env: {
        PORT: '0',
        RELGUARD_APP: 'shop',
        RELGUARD_VERSION: 'v1.4.0',
        RELGUARD_MACHINE_ID: 'machine-3',
        RELGUARD_DEPLOY_PATH: releaseDir,
      },
    });
    try {
      const first = await call(`${release.url}/api/pay`, {
        method: 'POST',
        body: { order_id: 'o', amount_cents: 5 },
      });
      expect(first.status).toBe(500);
      const { faults } = await callJson<{ faults: FaultView[] }>(`${release.url}/faults`);
      expect(faults.map((fault) => [fault.type, fault.source, fault.ends_at === null])).toEqual([
        ['error', 'config', true],
        ['latency', 'config', false],
      ]);
      expect(JSON.parse((await call(`${release.url}/version`)).body)).toMatchObject({
        app: 'shop',
        version: 'v1.4.0',
        instance: 'machine-3',
        deploy_path: releaseDir,
      });
      const metrics = (await call(`${release.url}/metrics`)).body;
      const labels = { app: 'shop', version: 'v1.4.0', instance: 'machine-3' };
      expect(metricValue(metrics, 'mockserver_fault_active', { ...labels, type: 'error' })).toBe(1);
      expect(
        metricValue(metrics, 'http_requests_total', {
          ...labels,
          route: '/api/pay',
          status: '500',
        }),
      ).toBe(1);
      // relguard's stop_cmd sends SIGTERM: the faults end and the process exits cleanly.
      await release.stop();
      expect(await release.exited).toBe(0);
    } finally {
      await release.stop();
    }
  });

  it('refuses to start on a bad config fault, naming it', async () => {
    const releaseDir = mkdtempSync(path.join(workDir, 'bad-release-'));
    writeFileSync(
      path.join(releaseDir, 'mockserver.config.json'),
      JSON.stringify({ faults: [{ type: 'error', params: { rate: 3 } }] }),
    );
    const result = await runToExit({ cwd: releaseDir, args: ['--port', '0'] });
    expect(result.code).toBe(1);
    expect(result.output).toContain('faults[0]: invalid params.rate');
  });

  it('refuses to start on a bad flag, naming it', async () => {
    const result = await runToExit({ args: ['--port', 'many'] });
    expect(result.code).toBe(2);
    expect(result.output).toContain('--port');
  });
});

function startFaultAt(url: string, spec: unknown) {
  return callJson<FaultView>(`${url}/faults`, { method: 'POST', body: spec });
}
