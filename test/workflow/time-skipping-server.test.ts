import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkipping } from '../support/temporal';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkipping();
});
afterAll(async () => {
  await env?.teardown();
});

describe('the time-skipping test server (installed binary, nothing downloaded)', () => {
  // Within the test timeout only if the server really skips: a day cannot pass otherwise.
  it('skips a day of server time', async () => {
    expect(env.supportsTimeSkipping).toBe(true);
    const before = await env.currentTimeMs();
    await env.sleep('1 day');
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(24 * 3600 * 1000);
  });
});
