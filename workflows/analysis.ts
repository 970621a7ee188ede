import { ApplicationFailure, log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AnalysisRequest } from '../activities/analysis';
import type { AnalyzerResult } from '../activities/analyzer/types';
import { alertAttempts } from '../domain/alert';
import { FailureType, failureMessage } from '../domain/errors';
import { summaries } from './summaries';

const nonRetryableErrorTypes = [FailureType.BadConfig, FailureType.NotFound];

const { collectAnalysisContext, saveAnalysisReport } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes },
});

// The alert's attempts are counted on the deployment (retrying until the last, then failed).
const { sendAnalysisAlert } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: alertAttempts, nonRetryableErrorTypes },
});

// An investigation takes minutes; a worker that dies during one is noticed by its heartbeats.
// A malformed report (BadConfig) is retried once more, since an LLM answers differently each
// time; past that the next analyzer takes over.
const { runAnalyzer } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 2, initialInterval: '5 seconds', nonRetryableErrorTypes: [] },
});

export type AnalysisInput = AnalysisRequest;

export interface AnalysisResult {
  analyzer: string;
  fallback_reason?: string;
}

/**
 * The root-cause report of a deployment: collect the release's context and pull requests,
 * run the analyzers in order (the LLM when configured, then the heuristic) until one writes a
 * valid report, store it, and say so on the application's channels. A release starts it and
 * never waits for it.
 */
export async function analysisWorkflow(input: AnalysisInput): Promise<AnalysisResult> {
  setCurrentDetails(`collecting what happened around release ${input.deploymentId}`);
  const collected = await collectAnalysisContext.executeWithOptions(
    { summary: summaries.collectContext(input.deploymentId) },
    [input],
  );
  const failures: string[] = [];
  let written: { analyzer: string; result: AnalyzerResult } | undefined;
  for (const analyzer of collected.analyzers) {
    setCurrentDetails(
      [
        `running the ${analyzer} analyzer`,
        ...failures.map((failure) => `- failed: ${failure}`),
      ].join('\n'),
    );
    try {
      const result = await runAnalyzer.executeWithOptions(
        { summary: summaries.runAnalyzer(analyzer) },
        [{ analyzer, context: collected.context }],
      );
      written = { analyzer, result };
      break;
    } catch (error) {
      failures.push(`${analyzer}: ${failureMessage(error)}`);
      log.warn('analyzer failed, trying the next', { analyzer, error: failureMessage(error) });
    }
  }
  if (written === undefined) {
    throw ApplicationFailure.nonRetryable(
      `no analyzer could write the report: ${failures.join('; ')}`,
      'AnalysisFailed',
    );
  }
  const fallbackReason = failures.length > 0 ? failures.join('; ') : undefined;
  setCurrentDetails(`the ${written.analyzer} analyzer wrote the report`);
  await saveAnalysisReport.executeWithOptions({ summary: summaries.saveReport(written.analyzer) }, [
    {
      collected,
      analyzer: written.analyzer,
      result: written.result,
      ...(fallbackReason === undefined ? {} : { fallback_reason: fallbackReason }),
      createdTime: Date.now(),
    },
  ]);
  // A channel that is down must not fail an analysis that is written.
  await sendAnalysisAlert
    .executeWithOptions({ summary: summaries.analysisAlert(input.deploymentId) }, [
      { deploymentId: input.deploymentId },
    ])
    .catch((error: unknown) => {
      log.warn('the analysis alert was not delivered', { error: failureMessage(error) });
    });
  return {
    analyzer: written.analyzer,
    ...(fallbackReason === undefined ? {} : { fallback_reason: fallbackReason }),
  };
}
