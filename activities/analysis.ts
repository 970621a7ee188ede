import { Context } from '@temporalio/activity';
import {
  AnalysisFindings,
  AnalysisReport,
  errorMessage,
  FailureType,
  machinesWith,
  RelguardError,
  touchedNodeStatuses,
  type AnalysisTrigger,
  type Deployment,
  type ReleaseChanges,
  type RuleResultRecord,
} from '../domain';
import type { AnalysisContext, Analyzer, AnalyzerResult, FiringAlert } from './analyzer/types';
import type { ChangeSource } from './changes/types';
import type { Repositories } from './db';
import { asActivity } from './failures';
import type { Logger } from './logger';

export interface AnalysisDeps {
  store: Pick<Repositories, 'deployments' | 'applications' | 'analysisReports'>;
  changes: ChangeSource;
  /** By name, in the order they are tried: the LLM (when configured) first, the heuristic last. */
  analyzers: Analyzer[];
  logger: Logger;
  now?: () => number;
}

/** Why an analysis runs: what analysisWorkflow is started with. */
export interface AnalysisRequest {
  deploymentId: string;
  trigger: AnalysisTrigger;
  /** The rollback reason, or the alert's name and summary. */
  reason: string;
  /** The guard's failing rules, for a rollback it asked for. */
  failing?: RuleResultRecord[];
  alerts?: FiringAlert[];
  /** The end of the window to look at (epoch ms): the rollback or the alert. Default now. */
  at?: number;
}

export interface CollectedContext {
  context: AnalysisContext;
  app_id: string;
  /** The analyzers to try, in order. */
  analyzers: string[];
}

export interface SaveReportRequest {
  collected: CollectedContext;
  analyzer: string;
  result: AnalyzerResult;
  /** Why the analyzers before this one did not write the report. */
  fallback_reason?: string;
  createdTime: number;
}

/** Shorter windows make rates of a few samples: noise, not evidence. */
const minimumWindowMs = 60_000;

/** The release window ends at the rollback (or the alert); the baseline is as long, just before. */
export function analysisWindows(deployment: Deployment, at: number) {
  const from = Math.min(deployment.createdTime, at - minimumWindowMs);
  const length = at - from;
  return {
    window: { from, to: at },
    baseline_window: { from: from - length, to: from },
  };
}

export function createAnalysisActivities(deps: AnalysisDeps) {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const analyzerNamed = (name: string): Analyzer => {
    const analyzer = deps.analyzers.find((candidate) => candidate.name === name);
    if (analyzer === undefined) {
      throw new RelguardError(FailureType.BadConfig, `no analyzer named ${name} is configured`);
    }
    return analyzer;
  };

  async function readChanges(repo: string, from: string, to: string): Promise<ReleaseChanges> {
    const none = (note: string): ReleaseChanges => ({
      source: 'none',
      repo,
      from,
      to,
      pull_requests: [],
      truncated: false,
      note,
    });
    if (repo === '') return none('the application names no repository');
    try {
      return await deps.changes.changesBetween({ repo, from, to });
    } catch (error) {
      // The metrics alone still make a useful report; say why the changes are missing.
      logger.warn({ repo, from, to, err: errorMessage(error) }, 'could not read the changes');
      return none(`could not read the changes: ${errorMessage(error)}`);
    }
  }

  return {
    /**
     * Gathers what the analyzers look at: the release, its machines, its windows, the guard's
     * evidence and the pull requests between the two versions. Read-only, so safe to retry.
     */
    async collectAnalysisContext(request: AnalysisRequest): Promise<CollectedContext> {
      return asActivity(async () => {
        const deployment = await store.deployments.get(request.deploymentId);
        const app = await store.applications.get(deployment.app_id);
        const at =
          request.at ??
          deployment.rollback?.detected_at ??
          deployment.rollback?.requested_at ??
          now();
        const changes = await readChanges(
          app.repo,
          deployment.previous_version,
          deployment.package_version,
        );
        return {
          app_id: app.id,
          analyzers: deps.analyzers.map((analyzer) => analyzer.name),
          context: {
            deployment_id: deployment.id,
            app_name: app.name,
            version: deployment.package_version,
            previous_version: deployment.previous_version,
            instances: machinesWith(deployment, touchedNodeStatuses),
            red_metrics: app.red_metrics_config,
            trigger: request.trigger,
            reason: request.reason,
            failing: request.failing ?? deployment.rollback?.failing ?? [],
            alerts: request.alerts ?? [],
            ...analysisWindows(deployment, at),
            changes,
          },
        };
      });
    },

    /**
     * Runs one analyzer and checks its findings against the report's schema: a malformed
     * answer fails here and is never stored. Heartbeats as the investigation moves, so a dead
     * worker is noticed within the heartbeat timeout. Read-only, so safe to retry.
     */
    async runAnalyzer(request: {
      analyzer: string;
      context: AnalysisContext;
    }): Promise<AnalyzerResult> {
      return asActivity(async () => {
        const analyzer = analyzerNamed(request.analyzer);
        const activity = Context.current();
        let last = `${analyzer.name}: starting`;
        activity.heartbeat(last);
        // A model can think for longer than the heartbeat timeout between two steps.
        const beat = setInterval(() => activity.heartbeat(last), 10_000);
        let result: AnalyzerResult;
        try {
          result = await analyzer.analyze(request.context, (detail) => {
            last = `${analyzer.name}: ${detail}`;
            activity.heartbeat(last);
          });
        } finally {
          clearInterval(beat);
        }
        const findings = AnalysisFindings.safeParse(result.findings);
        if (!findings.success) {
          throw new RelguardError(
            FailureType.BadConfig,
            `the ${analyzer.name} analyzer wrote a malformed report: ${findings.error.issues
              .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
              .join('; ')}`,
          );
        }
        logger.info(
          {
            deployment: request.context.deployment_id,
            analyzer: analyzer.name,
            fault_class: findings.data.fault_class,
            tool_calls: result.tool_calls.length,
          },
          'analysis written',
        );
        return { ...result, findings: findings.data };
      });
    },

    /** Stores the report, replacing an earlier one of the same deployment. Idempotent. */
    async saveAnalysisReport(request: SaveReportRequest): Promise<void> {
      return asActivity(async () => {
        const { context, app_id } = request.collected;
        const { changes } = context;
        const report = AnalysisReport.parse({
          ...request.result.findings,
          deployment_id: context.deployment_id,
          app_id,
          app_name: context.app_name,
          version: context.version,
          previous_version: context.previous_version,
          trigger: context.trigger,
          reason: context.reason,
          analyzer: request.analyzer,
          ...(request.result.model === undefined ? {} : { model: request.result.model }),
          ...(request.fallback_reason === undefined
            ? {}
            : { fallback_reason: request.fallback_reason }),
          tool_calls: request.result.tool_calls,
          window: context.window,
          baseline_window: context.baseline_window,
          changes: {
            source: changes.source,
            ...(changes.compare_url === undefined ? {} : { compare_url: changes.compare_url }),
            pull_requests: changes.pull_requests.length,
            truncated: changes.truncated,
            ...(changes.note === undefined ? {} : { note: changes.note }),
          },
          createdTime: request.createdTime,
        });
        await store.analysisReports.save(report);
      });
    },
  };
}
