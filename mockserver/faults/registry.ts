import type { Logger } from 'pino';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../duration';
import { ApiError, invalidParameters } from '../errors';
import { faultKind } from './index';
import {
  faultTypes,
  type FaultHandle,
  type FaultLimits,
  type FaultType,
  type RequestEffect,
  type ResourceCost,
} from './types';

/** What POST /faults and the config file's `faults` entries hold. */
export const faultSpecSchema = z.strictObject({
  type: z.string(),
  params: z.record(z.string(), z.unknown()).default({}),
  duration: z.union([z.number(), z.string()]).optional(),
});
export type FaultSpec = z.input<typeof faultSpecSchema>;

export type FaultSource = 'api' | 'config';

export interface FaultView {
  id: string;
  type: FaultType;
  params: Record<string, unknown>;
  source: FaultSource;
  started_at: string;
  /** null for a fault that lasts until it is deleted. */
  ends_at: string | null;
  duration_ms: number | null;
  remaining_ms: number | null;
  status?: Record<string, unknown>;
}

interface ActiveFault {
  id: string;
  type: FaultType;
  params: Record<string, unknown>;
  source: FaultSource;
  cost: ResourceCost;
  startedAt: number;
  endsAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  handle: FaultHandle;
}

export interface FaultRegistryOptions {
  limits: FaultLimits;
  logger: Logger;
  diskDir: string;
  exit: (code: number) => void;
  /** Told the number of active faults of a type whenever it changes. */
  onActiveCount: (type: FaultType, count: number) => void;
}

const costParameter: Record<keyof ResourceCost, { parameter: string; limit: keyof FaultLimits }> = {
  memoryMb: { parameter: 'params.mb', limit: 'memoryMb' },
  cpuCores: { parameter: 'params.cores', limit: 'cpuCores' },
  diskMb: { parameter: 'params.mb', limit: 'diskMb' },
};

/**
 * Owns every active fault: starts it, arms its one deadline timer, and ends it in one place
 * (end()) whether the deadline passed, it was deleted, or the server is closing.
 */
export class FaultRegistry {
  private readonly active = new Map<string, ActiveFault>();
  private requestFaults: FaultHandle[] = [];
  private sequence = 0;

  constructor(private readonly options: FaultRegistryOptions) {
    for (const type of faultTypes) options.onActiveCount(type, 0);
  }

  /** Validates and starts a fault; throws ApiError 400 (bad spec) or 409 (over a limit). */
  start(rawSpec: unknown, source: FaultSource): FaultView {
    const parsed = faultSpecSchema.safeParse(rawSpec);
    if (!parsed.success) throw invalidParameters(parsed.error, '');
    const spec = parsed.data;
    const kind = faultKind(spec.type);
    const durationMs = this.parseDurationMs(spec.duration);
    const prepared = kind.prepare(spec.params, this.options.limits);
    this.checkLimits(prepared.cost);

    this.sequence += 1;
    const id = `${kind.type}-${this.sequence}`;
    const handle = prepared.start({
      id,
      logger: this.options.logger,
      diskDir: this.options.diskDir,
      exit: this.options.exit,
    });
    const startedAt = Date.now();
    const fault: ActiveFault = {
      id,
      type: kind.type,
      params: prepared.params,
      source,
      cost: prepared.cost,
      startedAt,
      endsAt: durationMs === undefined ? undefined : startedAt + durationMs,
      timer: undefined,
      handle,
    };
    if (durationMs !== undefined) {
      fault.timer = setTimeout(() => void this.end(id), durationMs);
      fault.timer.unref();
    }
    this.active.set(id, fault);
    this.changed(kind.type);
    this.options.logger.info(
      { faultId: id, type: kind.type, params: prepared.params, durationMs, source },
      'fault started',
    );
    return this.view(fault, startedAt);
  }

  list(): FaultView[] {
    const now = Date.now();
    return [...this.active.values()].map((fault) => this.view(fault, now));
  }

  get(id: string): FaultView | undefined {
    const fault = this.active.get(id);
    return fault === undefined ? undefined : this.view(fault, Date.now());
  }

  /** Ends one fault and releases what it holds; undefined when no such fault is active. */
  async end(id: string): Promise<FaultView | undefined> {
    const fault = this.active.get(id);
    if (fault === undefined) return undefined;
    const endedAt = Date.now();
    clearTimeout(fault.timer);
    this.active.delete(id);
    this.changed(fault.type);
    try {
      await fault.handle.stop();
    } catch (error) {
      this.options.logger.error({ err: error, faultId: id }, 'fault did not stop cleanly');
    }
    this.options.logger.info({ faultId: id, type: fault.type }, 'fault ended');
    return this.view(fault, endedAt);
  }

  /** Ends every active fault; returns how many there were. */
  async reset(): Promise<number> {
    const ids = [...this.active.keys()];
    await Promise.all(ids.map((id) => this.end(id)));
    return ids.length;
  }

  /** The combined effect of the request faults on one request, or undefined when none apply. */
  effectFor(route: string): RequestEffect | undefined {
    if (this.requestFaults.length === 0) return undefined;
    const effect: RequestEffect = {
      delayMs: 0,
      errorStatus: undefined,
      network: undefined,
      hangUntil: undefined,
      bandwidthKbps: undefined,
    };
    for (const handle of this.requestFaults) handle.onRequest?.(route, effect);
    return effect;
  }

  private parseDurationMs(duration: string | number | undefined): number | undefined {
    if (duration === undefined) return undefined;
    const ms = parseDuration(duration);
    const { maxDurationMs } = this.options.limits;
    if (ms === undefined || ms < 1 || ms > maxDurationMs) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `invalid duration: expected 1ms..${formatDuration(maxDurationMs)} like "30s", "500ms", "2m" or a number of ms, got ${JSON.stringify(duration)}`,
        [{ parameter: 'duration', message: `expected 1ms..${formatDuration(maxDurationMs)}` }],
      );
    }
    return ms;
  }

  private checkLimits(cost: ResourceCost): void {
    const { limits } = this.options;
    if (this.active.size >= limits.maxActiveFaults) {
      throw new ApiError(409, 'limit_exceeded', `at most ${limits.maxActiveFaults} active faults`, {
        limit: limits.maxActiveFaults,
      });
    }
    for (const key of Object.keys(cost) as (keyof ResourceCost)[]) {
      const requested = cost[key] ?? 0;
      const inUse = [...this.active.values()].reduce(
        (sum, fault) => sum + (fault.cost[key] ?? 0),
        0,
      );
      const { parameter, limit: limitKey } = costParameter[key];
      const limit = limits[limitKey];
      if (inUse + requested > limit + 1e-9) {
        throw new ApiError(
          409,
          'limit_exceeded',
          `${parameter} would take ${key} to ${round(inUse + requested)}, over the limit of ${limit} (${round(inUse)} already held by active faults)`,
          { parameter, requested: round(requested), in_use: round(inUse), limit },
        );
      }
    }
  }

  private changed(type: FaultType): void {
    let count = 0;
    for (const fault of this.active.values()) if (fault.type === type) count += 1;
    this.options.onActiveCount(type, count);
    this.requestFaults = [...this.active.values()]
      .map((fault) => fault.handle)
      .filter((handle) => handle.onRequest !== undefined);
  }

  private view(fault: ActiveFault, now: number): FaultView {
    const status = fault.handle.status?.();
    return {
      id: fault.id,
      type: fault.type,
      params: fault.params,
      source: fault.source,
      started_at: new Date(fault.startedAt).toISOString(),
      ends_at: fault.endsAt === undefined ? null : new Date(fault.endsAt).toISOString(),
      duration_ms: fault.endsAt === undefined ? null : fault.endsAt - fault.startedAt,
      remaining_ms: fault.endsAt === undefined ? null : Math.max(0, fault.endsAt - now),
      ...(status === undefined ? {} : { status }),
    };
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
