import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PackageInfo } from '../domain/deployment';
import { nonRetryableFailureTypes } from '../domain/errors';
import { summaries } from './summaries';

const { ensurePackage } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    maximumAttempts: 3,
    // A package refused for its bytes (another of the version is stored) stays refused.
    nonRetryableErrorTypes: [...nonRetryableFailureTypes],
  },
});

export interface PackageInput {
  appId: string;
  version: string;
  /**
   * The SHA a GitHub push announced the tag at: a tag found elsewhere is refused. Absent from
   * builds asked for by hand, and from the inputs of builds started before it existed.
   */
  expectedSha?: string;
}

/**
 * Builds and stores the package of one version (a git tag) unless it exists already. Its id
 * is packageWorkflowId(appId, version): every caller starts or joins the same build.
 */
export async function packageWorkflow(input: PackageInput): Promise<PackageInfo> {
  return await ensurePackage.executeWithOptions(
    { summary: summaries.packageOf(input.appId, input.version) },
    [input],
  );
}
