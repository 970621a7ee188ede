import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { AnalysisRequest, SaveReportRequest } from '../../activities/analysis';
import type { AnalyzerResult } from '../../activities/analyzer/types';
import { REDMetrics } from '../../domain';
import { sampleFindings } from '../support/analysis-report';

const findings = sampleFindings({ confidence: 0.7 });

export type Behaviour = 'writes' | 'fails';

/**
 * The analysis activities in memory: each analyzer named writes the sample findings or fails;
 * what was asked, saved and alerted is recorded.
 */
export function fakeAnalysis(
  behaviours: Record<string, Behaviour>,
  options: { alertFails?: boolean } = {},
) {
  const requests: AnalysisRequest[] = [];
  const attempts: string[] = [];
  const saved: SaveReportRequest[] = [];
  const alerted: string[] = [];
  const activities: Partial<Activities> = {
    collectAnalysisContext: (request) => {
      requests.push(request);
      return Promise.resolve({
        app_id: 'a1',
        analyzers: Object.keys(behaviours),
        context: {
          deployment_id: request.deploymentId,
          app_name: 'shop',
          version: 'v2',
          previous_version: 'v1',
          instances: ['m1'],
          red_metrics: REDMetrics.parse({}),
          trigger: request.trigger,
          reason: request.reason,
          failing: request.failing ?? [],
          alerts: [],
          window: { from: 1_000, to: 61_000 },
          baseline_window: { from: -59_000, to: 1_000 },
          changes: {
            source: 'none',
            repo: '',
            from: 'v1',
            to: 'v2',
            pull_requests: [],
            truncated: false,
          },
        },
      });
    },
    runAnalyzer: ({ analyzer }): Promise<AnalyzerResult> => {
      attempts.push(analyzer);
      if (behaviours[analyzer] === 'fails') {
        return Promise.reject(
          ApplicationFailure.create({ message: `${analyzer} is down`, type: 'Unavailable' }),
        );
      }
      return Promise.resolve({ findings, tool_calls: [], model: `${analyzer}-model` });
    },
    saveAnalysisReport: (request) => {
      saved.push(request);
      return Promise.resolve();
    },
    sendAnalysisAlert: ({ deploymentId }) => {
      alerted.push(deploymentId);
      if (options.alertFails === true) {
        return Promise.reject(ApplicationFailure.nonRetryable('the channel is gone', 'NotFound'));
      }
      return Promise.resolve({ delivered: ['oncall'] });
    },
  };
  return { activities, requests, attempts, saved, alerted };
}
