import { targetDownRule, type RuleResult } from './guard';

/**
 * The guard's own rule, `target_down`: a machine on the new version that Prometheus cannot
 * scrape, or whose health check fails, is sick. Without this rule such a machine has no series,
 * every metric rule says `no_data`, and under `no_data: ignore` the release would go on.
 */

/** What is known of one machine on the new version at one evaluation. */
export interface TargetObservation {
  machineId: string;
  /** `up` of its target labelled with the new version; undefined when there is no such series. */
  up?: number;
  /** The last successful scrape of the machine (any version) in the lookback, epoch ms. */
  lastUpAt?: number;
  /** When the machine finished deploying the new version (epoch ms). */
  deployedAt?: number;
  /** The platform's health check, asked during this evaluation. */
  health: { healthy: boolean; error?: string };
}

export interface TargetContext {
  version: string;
  /** The evaluation's instant (epoch ms). */
  at: number;
  /** How long a freshly deployed machine may be missing from Prometheus (see dataGraceMs). */
  graceMs: number;
  /** Another machine of the application answers scrapes: Prometheus itself can scrape. */
  otherMachineUp: boolean;
  /** The query that counts the new version's machines Prometheus cannot scrape, to paste. */
  promql: string;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `target_down` for the machines on the new version: fail names every sick machine. */
export function judgeTargets(
  observations: readonly TargetObservation[],
  ctx: TargetContext,
): RuleResult {
  const sick: string[] = [];
  const unknown: string[] = [];
  for (const machine of observations) {
    const who = `machine ${machine.machineId} (version ${ctx.version})`;
    const reasons: string[] = [];
    if (!machine.health.healthy) {
      reasons.push(`failed its health check (${machine.health.error ?? 'unhealthy'})`);
    }
    if (machine.up === 0) {
      if (machine.lastUpAt !== undefined) {
        reasons.push(
          `stopped answering Prometheus scrapes at ${isoSeconds(machine.lastUpAt)} (up == 0)`,
        );
      } else if (ctx.otherMachineUp) {
        reasons.push('has not answered a Prometheus scrape since its deploy (up == 0)');
      } else if (reasons.length === 0) {
        unknown.push(
          `${who} does not answer Prometheus scrapes (up == 0), and no other machine of the ` +
            'application ever did: cannot tell the version from the way to it (does Prometheus reach the machines?)',
        );
      }
    } else if (machine.up === undefined && reasons.length === 0) {
      const since = machine.deployedAt === undefined ? undefined : ctx.at - machine.deployedAt;
      if (since !== undefined && since > ctx.graceMs) {
        unknown.push(
          `${who} is not scraped by Prometheus ${Math.round(since / 1000)} s after its deploy ` +
            "(no up series with its version): is relguard's targets folder in Prometheus' file_sd_configs?",
        );
      }
    }
    if (reasons.length > 0) sick.push(`${who} ${reasons.join(' and ')}`);
  }

  const base = {
    rule: targetDownRule,
    metric: 'target' as const,
    promql: ctx.promql,
    value: sick.length,
    operator: '>' as const,
    threshold: 0,
  };
  if (sick.length > 0) {
    return { ...base, verdict: 'fail', message: `${targetDownRule}: ${sick.join('; ')}` };
  }
  if (unknown.length > 0) {
    return { ...base, verdict: 'error', message: `${targetDownRule}: ${unknown.join('; ')}` };
  }
  return {
    ...base,
    verdict: 'pass',
    message:
      `${targetDownRule}: ${observations.length} machine(s) on ${ctx.version} answer ` +
      'Prometheus scrapes and health checks',
  };
}
