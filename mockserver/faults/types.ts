import type { Logger } from 'pino';
import type { z } from 'zod';

export const faultTypes = [
  'cpu',
  'memory',
  'latency',
  'error',
  'network',
  'disk',
  'crash',
] as const;
export type FaultType = (typeof faultTypes)[number];

/** What a request on a faulted route will suffer; request-path faults add to it. */
export interface RequestEffect {
  delayMs: number;
  errorStatus: number | undefined;
  network: 'drop' | 'timeout' | undefined;
  /** Settles when the timeout fault that hangs this request ends. */
  hangUntil: Promise<void> | undefined;
  bandwidthKbps: number | undefined;
}

/** Host resources a fault holds while active; the registry keeps their sum under the limits. */
export interface ResourceCost {
  memoryMb?: number;
  cpuCores?: number;
  diskMb?: number;
}

/** Caps that keep any mix of faults from taking the host down. */
export interface FaultLimits {
  maxDurationMs: number;
  maxActiveFaults: number;
  /** Sum of all memory faults. */
  memoryMb: number;
  /** Sum of cores × duty cycle of all cpu faults, and the cores one fault may ask. */
  cpuCores: number;
  /** Sum of all disk faults. */
  diskMb: number;
}

export interface FaultContext {
  id: string;
  logger: Logger;
  /** Folder the disk fault writes to; it owns nothing else there. */
  diskDir: string;
  /** Ends the process; injected so in-process tests survive a crash fault. */
  exit: (code: number) => void;
}

/** A running fault. The registry calls stop() exactly once, at the deadline or on removal. */
export interface FaultHandle {
  /** Releases everything the fault holds (threads, memory, files, hung requests). */
  stop(): Promise<void> | void;
  /** Request-path faults only: adds this fault's effect on one request to `effect`. */
  onRequest?(route: string, effect: RequestEffect): void;
  /** Progress worth showing in GET /faults, e.g. the MB allocated so far. */
  status?(): Record<string, unknown>;
}

/** Validated parameters, ready to start. */
export interface PreparedFault {
  params: Record<string, unknown>;
  cost: ResourceCost;
  start(context: FaultContext): FaultHandle;
}

/** One fault type: validates its parameters and starts it. */
export interface FaultKind {
  readonly type: FaultType;
  /** Throws ApiError 400 naming the bad parameter. */
  prepare(rawParams: unknown, limits: FaultLimits): PreparedFault;
}

export interface FaultDefinition<Schema extends z.ZodType<Record<string, unknown>>> {
  type: FaultType;
  schema: (limits: FaultLimits) => Schema;
  cost?: (params: z.output<Schema>) => ResourceCost;
  start: (params: z.output<Schema>, context: FaultContext) => FaultHandle;
}
