/**
 * What `npm run bench` (bench/main.ts) knows of the benches, as pure functions: which run, the
 * arguments each takes in a quick run, how a bench's result is read from its output (its last
 * line, one JSON object), and the markdown table the runner ends with.
 */

export const benchNames = [
  'mockserver',
  'guard',
  'analysis',
  'release-scale',
  'throughput',
  'api',
  'health',
] as const;
export type BenchName = (typeof benchNames)[number];

/** Smaller sizes and trials, so that the runner itself can be tried in minutes. */
export const quickArgs: Record<BenchName, string[]> = {
  mockserver: ['--seconds', '1', '--rounds', '1'],
  guard: ['--trials', '2'],
  analysis: ['--fault-seconds', '10'],
  'release-scale': ['--sizes', '10,100'],
  throughput: ['--releases', '10'],
  api: ['--seconds', '3'],
  health: ['--apps', '10', '--seconds', '15', '--idle-seconds', '5'],
};

/** The benches `--only a,b` names, in the runner's order; an unknown name is an error naming it. */
export function selectBenches(only: string | undefined): BenchName[] {
  if (only === undefined || only.trim() === '') return [...benchNames];
  const wanted = only
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = wanted.filter((name) => !(benchNames as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown bench ${unknown.join(', ')}; the benches are ${benchNames.join(', ')}`,
    );
  }
  return benchNames.filter((name) => wanted.includes(name));
}

export type BenchResult = Record<string, unknown>;

/** The bench's result: its last non-empty output line, when that is a JSON object. */
export function parseResultLine(output: string): BenchResult | undefined {
  const last = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  if (last === undefined || !last.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(last);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as BenchResult)
      : undefined;
  } catch {
    return undefined;
  }
}

/** How one bench ended: its exit code and the result line it printed, if any. */
export interface BenchOutcome {
  name: BenchName;
  exitCode: number;
  result: BenchResult | undefined;
}

/** One line of the summary table. */
export interface SummaryRow {
  bench: string;
  measured: string;
  figure: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
}

/** A bench failed when it exited non-zero or printed no result line. */
export function benchFailed(outcome: BenchOutcome): boolean {
  return outcome.exitCode !== 0 || outcome.result === undefined;
}

const none = '—';

function num(result: BenchResult, key: string): number | undefined {
  const value = result[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Milliseconds as people read them: 0.8 ms, 41 ms, 3,214 ms, 12.5 s. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return none;
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms).toLocaleString('en-US')} ms`;
  return `${Number(ms.toFixed(1))} ms`;
}

function flag(result: BenchResult, key: string): boolean | undefined {
  const value = result[key];
  return typeof value === 'boolean' ? value : undefined;
}

function formatNumber(value: number | undefined): string {
  return value === undefined ? none : value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function formatMet(met: boolean | undefined): string {
  if (met === undefined) return none;
  return met ? 'yes' : 'no';
}

function mockserverRows(result: BenchResult): SummaryRow[] {
  const target = num(result, 'target');
  return [
    {
      bench: 'mockserver',
      measured: `${typeof result.endpoint === 'string' ? result.endpoint : 'GET /api/orders'} req/s against a bare node:http server`,
      figure: `${formatNumber(num(result, 'mockserver_rps'))} req/s, p99 ${formatMs(num(result, 'mockserver_p99_ms'))}`,
      baseline: `${formatNumber(num(result, 'bare_rps'))} req/s, p99 ${formatMs(num(result, 'bare_p99_ms'))}`,
      ratio: formatNumber(num(result, 'ratio')),
      target: target === undefined ? none : `>= ${target}`,
      met: formatMet(flag(result, 'meets_target')),
    },
  ];
}

function guardRows(result: BenchResult): SummaryRow[] {
  const ratio = num(result, 'detection_ratio');
  const target = num(result, 'detection_target_ratio');
  return [
    {
      bench: 'guard',
      measured: 'error fault to rollback signal (median)',
      figure: formatMs(num(result, 'detection_median_ms')),
      baseline: `floor ${formatMs(num(result, 'detection_floor_ms'))}`,
      ratio: formatNumber(ratio),
      target: target === undefined ? none : `<= ${target}`,
      met: formatMet(ratio === undefined || target === undefined ? undefined : ratio <= target),
    },
    {
      bench: 'guard',
      measured: 'rollback signal to every machine on the old version (median)',
      figure: formatMs(num(result, 'rollback_median_ms')),
      baseline: `one machine's start ${formatMs(num(result, 'one_machine_start_median_ms'))}`,
      ratio: formatNumber(num(result, 'rollback_ratio')),
      target: none,
      met: none,
    },
  ];
}

function analysisRows(result: BenchResult): SummaryRow[] {
  const scenarios = num(result, 'scenarios');
  const share = (
    measured: string,
    count: string,
    of: number | undefined,
    shareKey: string,
    targetKey?: string,
  ): SummaryRow => {
    const value = num(result, shareKey);
    const target = targetKey === undefined ? undefined : num(result, targetKey);
    return {
      bench: 'analysis',
      measured,
      figure: `${formatNumber(num(result, count))}/${formatNumber(of)}`,
      baseline: none,
      ratio: formatNumber(value),
      target: target === undefined ? none : `>= ${target}`,
      met: formatMet(value === undefined || target === undefined ? undefined : value >= target),
    };
  };
  return [
    share(
      'culprit pull request ranked first',
      'culprit_first',
      scenarios,
      'culprit_first_share',
      'culprit_first_target',
    ),
    share('fault class right', 'class_right', scenarios, 'class_right_share'),
    share(
      'report queries that run and return data',
      'queries_with_data',
      num(result, 'queries'),
      'queries_with_data_share',
      'queries_with_data_target',
    ),
  ];
}

function releaseScaleRows(result: BenchResult): SummaryRow[] {
  const sizes = Array.isArray(result.sizes) ? (result.sizes as BenchResult[]) : [];
  return sizes.map((size) => {
    const target = num(size, 'target');
    const events = num(size, 'events_per_machine');
    const rss = num(size, 'worker_rss_peak_mb');
    const extras = [
      events === undefined ? undefined : `${formatNumber(events)} history events/machine`,
      rss === undefined ? undefined : `worker RSS ${formatNumber(rss)} MB`,
    ].filter((extra) => extra !== undefined);
    return {
      bench: 'release-scale',
      measured: `release of ${formatNumber(num(size, 'machines'))} machines, wall time`,
      figure: `${formatMs(num(size, 'wall_ms'))}${extras.length === 0 ? '' : ` (${extras.join(', ')})`}`,
      baseline: `ideal ${formatMs(num(size, 'ideal_ms'))}`,
      ratio: formatNumber(num(size, 'ratio')),
      target: target === undefined ? none : `<= ${target}`,
      met: formatMet(target === undefined ? undefined : flag(size, 'meets_target')),
    };
  });
}

function throughputRows(result: BenchResult): SummaryRow[] {
  const perMinute = num(result, 'releases_per_minute');
  return [
    {
      bench: 'throughput',
      measured: `${formatNumber(num(result, 'releases'))} concurrent releases, makespan`,
      figure: `${formatMs(num(result, 'makespan_ms'))} (${formatNumber(perMinute)} releases/min, p99 ${formatMs(num(result, 'p99_ms'))})`,
      baseline: `one release alone ${formatMs(num(result, 'single_ms'))}`,
      ratio: formatNumber(num(result, 'ratio')),
      // The issue sets no target for throughput; bench/throughput.ts prints none.
      target: none,
      met: none,
    },
  ];
}

function apiRows(result: BenchResult): SummaryRow[] {
  const rows: SummaryRow[] = [
    {
      bench: 'api',
      measured: `GET /api/v1/deployments/:id (20 machines) against GET /healthz, ${formatNumber(num(result, 'connections'))} connections`,
      figure: `${formatNumber(num(result, 'deployment_rps'))} req/s, p99 ${formatMs(num(result, 'deployment_p99_ms'))}`,
      baseline: `${formatNumber(num(result, 'healthz_rps'))} req/s, p99 ${formatMs(num(result, 'healthz_p99_ms'))}`,
      ratio: `${formatNumber(num(result, 'rps_ratio'))} req/s, ${formatNumber(num(result, 'p99_ratio'))} p99`,
      target: none,
      met: none,
    },
  ];
  const everyRequest = num(result, 'every_request_write_rps');
  if (everyRequest !== undefined) {
    rows.push({
      bench: 'api',
      measured: 'the same, token last use written once a minute against on every request',
      figure: `${formatNumber(num(result, 'deployment_rps'))} req/s`,
      baseline: `${formatNumber(everyRequest)} req/s, p99 ${formatMs(num(result, 'every_request_write_p99_ms'))}`,
      ratio: formatNumber(num(result, 'throttle_rps_gain')),
      target: none,
      met: none,
    });
  }
  return rows;
}

/** bench/health.ts: one worker watching a fleet; its last phase is the full fleet. */
function healthRows(result: BenchResult): SummaryRow[] {
  const phases = Array.isArray(result.phases) ? (result.phases as BenchResult[]) : [];
  const full = phases.at(-1);
  if (full === undefined) return [];
  const idle = phases.find((phase) => phase.phase === 'idle');
  const share = num(full, 'worker_cpu_share');
  const idleShare = idle === undefined ? undefined : num(idle, 'worker_cpu_share');
  const percent = (value: number | undefined) =>
    value === undefined ? none : `${formatNumber(Math.round(value * 1000) / 10)}%`;
  return [
    {
      bench: 'health',
      measured: `one worker watching ${formatNumber(num(full, 'machines'))} machines every ${formatNumber(num(result, 'interval_seconds'))} s: worker CPU of ${formatNumber(num(result, 'cores'))} cores, checks done`,
      figure: `${percent(share)}, ${formatNumber(num(full, 'worker_cpu_ms_per_machine_check'))} ms per machine check; ${formatNumber(num(full, 'checks'))} checks`,
      baseline: `idle ${percent(idleShare)}; ideal ${formatNumber(num(full, 'checks_ideal'))} checks`,
      ratio: formatNumber(num(full, 'checks_ratio')),
      target: none,
      met: none,
    },
  ];
}

const rowsOf: Record<BenchName, (result: BenchResult) => SummaryRow[]> = {
  mockserver: mockserverRows,
  guard: guardRows,
  analysis: analysisRows,
  'release-scale': releaseScaleRows,
  throughput: throughputRows,
  api: apiRows,
  health: healthRows,
};

/** The table's lines for one bench: its figures, or what went wrong. */
export function summaryRows(outcome: BenchOutcome): SummaryRow[] {
  const failed = (figure: string): SummaryRow[] => [
    {
      bench: outcome.name,
      measured: none,
      figure,
      baseline: none,
      ratio: none,
      target: none,
      met: 'no',
    },
  ];
  if (outcome.exitCode !== 0) return failed(`failed (exit code ${outcome.exitCode})`);
  if (outcome.result === undefined) return failed('no result line');
  const rows = rowsOf[outcome.name](outcome.result);
  return rows.length === 0 ? failed('no figures in its result line') : rows;
}

const headers: SummaryRow = {
  bench: 'bench',
  measured: 'what is measured',
  figure: 'figure',
  baseline: 'ideal/baseline',
  ratio: 'ratio',
  target: 'target',
  met: 'met?',
};
const columns = Object.keys(headers) as (keyof SummaryRow)[];

/** A markdown table laid out as Prettier would, so it can be pasted into README.md as it is. */
export function markdownTable(rows: SummaryRow[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const table = [headers, ...rows].map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((_, index) =>
    Math.max(3, ...table.map((cells) => [...cells[index]!].length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((text, index) => text + ' '.repeat(widths[index]! - [...text].length)).join(' | ')} |`;
  const [head, ...body] = table;
  return [
    line(head!),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...body.map(line),
  ].join('\n');
}
