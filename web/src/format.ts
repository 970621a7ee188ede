import type { DeploymentStatus } from './types';

const terminal: readonly DeploymentStatus[] = ['succeeded', 'failed', 'rolled_back', 'cancelled'];

/** As domain/deployment.ts decides it; kept here so that no domain code is bundled. */
export function isTerminal(status: DeploymentStatus): boolean {
  return terminal.includes(status);
}

const pad = (value: number) => String(value).padStart(2, '0');

/** Local time, to the second: `2025-11-28 14:03:07`. */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const date = new Date(ms);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** `3 min ago`, `2 h ago`; for when something happened relative to now. */
export function formatAgo(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return '';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

/** `1 min 20 s`, from a length in ms. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
}

/** Four significant digits at most, without trailing zeros. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** A value in its unit as people read it: seconds as ms below 1 s, ratios as %, bytes as MiB. */
export function formatValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined) return '—';
  switch (unit) {
    case 's':
      return Math.abs(value) < 1 ? `${formatNumber(value * 1000)} ms` : `${formatNumber(value)} s`;
    case 'ratio':
      return `${formatNumber(value * 100)}%`;
    case 'bytes':
      return `${formatNumber(value / 1024 ** 2)} MiB`;
    case '':
      return formatNumber(value);
    default:
      return `${formatNumber(value)} ${unit}`;
  }
}

/** The unit of a guard rule's metric (domain/application.ts RuleMetric). */
export function ruleUnit(metric: string): string {
  switch (metric) {
    case 'error_rate':
      return 'ratio';
    case 'latency_p99':
      return 's';
    case 'memory':
      return 'bytes';
    case 'cpu':
      return 'cores';
    default:
      return '';
  }
}
