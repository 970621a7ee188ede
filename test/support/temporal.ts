import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { relguardSearchAttributes } from '../../domain';
import { workflowsPath } from '../../worker/worker';
import { toolPaths } from './tools';

/**
 * A Temporal dev server (the real server, real timers) on a free loopback port, with
 * relguard's search attributes registered: for integration tests.
 */
export async function startDevServer(): Promise<TestWorkflowEnvironment> {
  return await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: toolPaths().temporal },
      ip: '127.0.0.1',
      ui: false,
      searchAttributes: [...relguardSearchAttributes],
      log: { format: 'json', level: 'error' },
    },
  });
}

/**
 * The time-skipping test server, for workflow logic that waits on timers, with relguard's
 * search attributes registered (it takes them through the operator API, not flags).
 */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: toolPaths().temporalTestServer } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      relguardSearchAttributes.map((attribute) => [attribute.name, 2 /* KEYWORD */]),
    ),
  });
  return env;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file (bundling takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return bundle;
}

const ignore = () => {};
const quietBundlerLogger = {
  log: ignore,
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta),
};
