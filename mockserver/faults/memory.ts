import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { defineFault } from './define';

const megabyte = 1024 * 1024;

/*
 * The ballast lives in a worker thread because terminating the worker frees it at once;
 * dropped Buffers on the main thread would wait for a garbage collection that may not come.
 * One allocation of at least 64 MB is served by mmap (glibc never raises its mmap threshold
 * past 32 MB), so untouched pages cost nothing and freeing returns every page to the OS.
 * Pages are touched at `rateMbPerSecond` in 100 ms steps, or all at once.
 */
const ballastSource = `
const { workerData, parentPort } = require('node:worker_threads');
const megabyte = ${megabyte};
const target = workerData.mb * megabyte;
const ballast = Buffer.allocUnsafeSlow(Math.max(target, 64 * megabyte));
globalThis.mockserverBallast = ballast;
const step = workerData.rateMbPerSecond > 0
  ? Math.max(4096, Math.round((workerData.rateMbPerSecond * megabyte) / 10))
  : target;
let touched = 0;
function grow() {
  const end = Math.min(target, touched + step);
  ballast.fill(0xa5, touched, end);
  touched = end;
  parentPort.postMessage(touched / megabyte);
  if (touched < target) setTimeout(grow, 100);
}
parentPort.on('message', () => undefined);
grow();
`;

/**
 * Allocates and touches `mb` (or `percent` of the host's total memory, os.totalmem()),
 * optionally growing at `rate` MB/s.
 */
export const memoryFault = defineFault({
  type: 'memory',
  schema: (limits) =>
    z
      .strictObject({
        mb: z.number().int().min(1).max(limits.memoryMb).optional(),
        percent: z.number().gt(0).max(100).optional(),
        rate: z.number().gt(0).max(10_000).optional(),
      })
      .refine((params) => (params.mb === undefined) !== (params.percent === undefined), {
        message: 'set exactly one of mb or percent',
        path: ['mb'],
      })
      .transform((params) => ({
        ...params,
        mb:
          params.mb ??
          Math.max(1, Math.round(((params.percent ?? 0) / 100) * (os.totalmem() / megabyte))),
      }))
      .refine((params) => params.mb <= limits.memoryMb, {
        message: `at most ${limits.memoryMb} MB`,
        path: ['percent'],
      }),
  cost: (params) => ({ memoryMb: params.mb }),
  start: (params, context) => {
    let allocatedMb = 0;
    const worker = new Worker(ballastSource, {
      eval: true,
      workerData: { mb: params.mb, rateMbPerSecond: params.rate ?? 0 },
    });
    worker.unref();
    worker.on('message', (value: number) => {
      allocatedMb = value;
    });
    worker.on('error', (error) => context.logger.error({ err: error }, 'memory ballast failed'));
    return {
      status: () => ({ allocated_mb: Math.round(allocatedMb) }),
      async stop() {
        await worker.terminate();
      },
    };
  },
});
