import { randomInt } from 'node:crypto';

/** Trials per fault when RELGUARD_CHAOS_TRIALS is unset: few enough for `npm test`. */
export const defaultChaosTrials = 3;

/**
 * How many trials each chaos test runs: RELGUARD_CHAOS_TRIALS (a whole number from 1 to 100;
 * `npm run test:chaos` sets 10), 3 by default. A bad value fails the run with its name rather
 * than quietly running the default.
 */
export function chaosTrials(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.RELGUARD_CHAOS_TRIALS;
  if (text === undefined || text.trim() === '') return defaultChaosTrials;
  const trials = Number(text);
  if (!Number.isInteger(trials) || trials < 1 || trials > 100) {
    throw new Error(`RELGUARD_CHAOS_TRIALS must be a whole number from 1 to 100, not "${text}"`);
  }
  return trials;
}

/**
 * The seed of a chaos run's random choices: RELGUARD_CHAOS_SEED (a whole number from 0 to
 * 2^32 - 1) to replay a run, a new one otherwise. Tests print it so that a failure can be
 * replayed.
 */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.RELGUARD_CHAOS_SEED;
  if (text === undefined || text.trim() === '') return randomInt(0, 2 ** 32 - 1);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    throw new Error(
      `RELGUARD_CHAOS_SEED must be a whole number from 0 to 4294967295, not "${text}"`,
    );
  }
  return seed;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same choices. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
