import { statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FaultLimits } from './types';

const megabyte = 1024 * 1024;

/**
 * Defaults that leave the host usable whatever mix of faults is asked: one hour at most,
 * memory min(1 GB, 25% of RAM), CPU the cores this process may use, disk min(1 GB, 25% of
 * the free space where the disk fault writes).
 */
export function defaultLimits(diskDir: string): FaultLimits {
  return {
    maxDurationMs: 3_600_000,
    maxActiveFaults: 100,
    memoryMb: Math.floor(Math.min(1024, (os.totalmem() / megabyte) * 0.25)),
    cpuCores: os.availableParallelism(),
    diskMb: Math.floor(Math.min(1024, freeMb(diskDir) * 0.25)),
  };
}

/** Free space of the file system `dir` will live on; the folder itself may not exist yet. */
function freeMb(dir: string): number {
  let candidate = path.resolve(dir);
  for (;;) {
    try {
      const stats = statfsSync(candidate);
      return (stats.bavail * stats.bsize) / megabyte;
    } catch {
      const parent = path.dirname(candidate);
      if (parent === candidate) return 0;
      candidate = parent;
    }
  }
}
