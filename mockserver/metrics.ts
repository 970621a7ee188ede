import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FaultType } from './faults/types';

export interface MetricLabels {
  app: string;
  version: string;
  instance: string;
}

/** Requests are labelled by route template, never by raw path, so cardinality stays bounded. */
export interface ServerMetrics {
  registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  setActiveFaults(type: FaultType, count: number): void;
  setLabels(labels: MetricLabels): void;
}

// From 1 ms (health checks) to 10 s (a hung or heavily delayed request), dense where the
// demo routes' baseline of a few to tens of ms and typical injected delays fall.
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A registry of its own, so several servers in one process (tests) never share series. */
export function createMetrics(labels: MetricLabels): ServerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ ...labels });
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request arrival to the end of the response, by route template.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: durationBuckets,
    registers: [registry],
  });
  const activeFaults = new Gauge({
    name: 'mockserver_fault_active',
    help: 'Active injected faults, by fault type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });

  return {
    registry,
    observeRequest(route, method, status, seconds) {
      const labelValues = { route, method, status: String(status) };
      requests.inc(labelValues);
      duration.observe(labelValues, seconds);
    },
    setActiveFaults(type, count) {
      activeFaults.set({ type }, count);
    },
    setLabels(next) {
      registry.setDefaultLabels({ ...next });
    },
  };
}
