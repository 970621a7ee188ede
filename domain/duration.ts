/** Seconds per unit of a Prometheus duration. */
const unitSeconds: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  y: 31_536_000,
};

const bareSeconds = /^\d+(?:\.\d+)?$/;
const duration = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/;
const durationPart = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;

/**
 * Seconds in a Prometheus duration (`30s`, `1h30m`, `500ms`) or a plain number of seconds;
 * undefined for anything else. The MCP server's tools and the RED template checks read
 * durations with it.
 */
export function durationSeconds(text: string): number | undefined {
  if (bareSeconds.test(text)) return Number(text);
  if (!duration.test(text)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(durationPart)) {
    seconds += Number(amount) * (unitSeconds[unit ?? ''] ?? Number.NaN);
  }
  return seconds;
}
