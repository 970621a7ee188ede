import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, packageWorkflowId, type PackageInfo } from '../domain';
import type { packageWorkflow } from '../workflows/package';
import { summaries } from '../workflows/summaries';
import type { Repositories } from './db';
import { asActivity } from './failures';
import type { Logger } from './logger';
import { checkBuiltFrom, withHeartbeat } from './release';

export interface PackageBuildDeps {
  store: Repositories;
  logger: Logger;
}

export function createPackageBuildActivities(deps: PackageBuildDeps) {
  const { store, logger } = deps;
  return {
    /**
     * A release's package when the version has none yet: starts the version's one build (the
     * packageWorkflow of packageWorkflowId) or joins the one already running, whoever started
     * it (the api, a webhook, another release), waits for it and records its package on the
     * deployment. Never builds beside another build of the same version.
     */
    async joinPackageBuild(request: {
      appId: string;
      version: string;
      deploymentId: string;
    }): Promise<PackageInfo> {
      return asActivity(async () => {
        const context = Context.current();
        const deployment = await store.deployments.get(request.deploymentId);
        const workflowId = packageWorkflowId(request.appId, request.version);
        const expectedSha = deployment.expected_sha;
        const handle = await context.client.workflow.start<typeof packageWorkflow>(
          'packageWorkflow',
          {
            taskQueue: context.info.taskQueue,
            workflowId,
            args: [
              {
                appId: request.appId,
                version: request.version,
                ...(expectedSha === undefined ? {} : { expectedSha }),
              },
            ],
            // The build of this version already running is the one this release waits for.
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: summaries.buildPackage(deployment.app_name, request.version),
            staticDetails: `The one build of ${deployment.app_name} (${request.appId}) ${request.version}, asked for by release ${request.deploymentId}${expectedSha === undefined ? '' : `; only from commit ${expectedSha}`}.`,
          },
        );
        logger.info(
          { app: deployment.app_name, version: request.version, workflowId },
          'release waits for the package build',
        );
        const info = await withHeartbeat(async (signal, onProgress) => {
          onProgress(`waiting for ${workflowId}`);
          try {
            return await untilCancelled(handle.result(), signal);
          } catch (error) {
            if (error instanceof WorkflowFailedError) throw buildFailure(error, workflowId);
            throw error;
          }
        });
        if (expectedSha !== undefined) {
          // A build someone else started may not have been told the pushed SHA: the package
          // this release gets must still be the commit the push announced.
          const record = await store.packages.findByVersion(request.appId, request.version);
          if (record !== undefined) checkBuiltFrom(record, expectedSha);
        }
        await store.deployments.setPackage(request.deploymentId, info);
        return info;
      });
    },
  };
}

/**
 * The build's own failure, with its type and message, never retried by the join: the build
 * had its own attempts (packageWorkflow's retry policy), and a retry of the join would start
 * a whole new build with as many again. The join's own failures (starting the workflow, a
 * Temporal that does not answer) are not this, and stay retryable.
 */
function buildFailure(error: WorkflowFailedError, workflowId: string): ApplicationFailure {
  let cause: unknown = error.cause;
  let failure: ApplicationFailure | undefined;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure) failure = cause;
    cause = cause.cause;
  }
  const known = Object.values(FailureType) as string[];
  const type =
    failure?.type !== undefined && failure.type !== null && known.includes(failure.type)
      ? (failure.type as FailureType)
      : FailureType.Unavailable;
  const message = failure?.message ?? (error.cause?.message || error.message);
  return ApplicationFailure.create({
    type,
    message: `the package build ${workflowId} failed: ${message}`,
    nonRetryable: true,
    details: [{ workflowId }],
    cause: error,
  });
}

/** Stops waiting (not the build: others may wait for it too) when the activity is cancelled. */
async function untilCancelled<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = (): void => {};
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, cancelled]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
