import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { defineFault } from './define';

const sliceMs = 100;

/*
 * The burner is source text rather than a file so it survives bundling: the esbuild bundle
 * is one file and a separate worker module would not be in it. Each thread burns its share
 * of every 100 ms slice and sleeps the rest in Atomics.wait, which the parent interrupts
 * through the shared flag. On Linux the share is counted in the thread's own CPU time
 * (/proc/thread-self/schedstat, in ns), not wall time, and what a busy host kept one slice
 * from burning is owed to the next, so the process shows the asked load even when other
 * processes compete for the cores; elsewhere it falls back to wall time.
 */
const burnerSource = `
const { workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const control = new Int32Array(workerData.control);
const sliceMs = ${sliceMs};
const shareMs = (workerData.percent * sliceMs) / 100;
const threadCpuMs = () => {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
};
const measured = Number.isFinite(threadCpuMs());
let owedMs = 0;
while (Atomics.load(control, 0) === 0) {
  const sliceStart = performance.now();
  const cpuStart = measured ? threadCpuMs() : 0;
  const budgetMs = Math.min(sliceMs, shareMs + owedMs);
  let usedMs = 0;
  while (usedMs < budgetMs && performance.now() - sliceStart < sliceMs) {
    const spinStart = performance.now();
    while (performance.now() - spinStart < 1) {}
    usedMs = measured ? threadCpuMs() - cpuStart : performance.now() - sliceStart;
  }
  owedMs = Math.max(-sliceMs, Math.min(sliceMs, budgetMs - usedMs));
  const idleMs = sliceMs - (performance.now() - sliceStart);
  if (idleMs > 0) Atomics.wait(control, 0, 0, idleMs);
}
`;

/** Burns `percent` of each of `cores` cores in worker threads, leaving the event loop free. */
export const cpuFault = defineFault({
  type: 'cpu',
  schema: (limits) =>
    z.strictObject({
      percent: z.number().min(1).max(100).default(100),
      cores: z.number().int().min(1).max(limits.cpuCores).default(1),
    }),
  cost: (params) => ({ cpuCores: (params.cores * params.percent) / 100 }),
  start: (params, context) => {
    const control = new SharedArrayBuffer(4);
    const workers = Array.from({ length: params.cores }, () => {
      const worker = new Worker(burnerSource, {
        eval: true,
        workerData: { percent: params.percent, control },
      });
      // A burner must never be what keeps the process alive.
      worker.unref();
      worker.on('error', (error) => context.logger.error({ err: error }, 'cpu burner failed'));
      return worker;
    });
    return {
      async stop() {
        const flag = new Int32Array(control);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
        await Promise.all(workers.map((worker) => worker.terminate()));
      },
    };
  },
});
