import type {
  AnalysisFindings,
  AnalysisTrigger,
  REDMetrics,
  ReleaseChanges,
  RuleResultRecord,
  ToolCall,
} from '../../domain';

/** An alert that fired for the application (from Alertmanager or the guard). */
export interface FiringAlert {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Epoch ms. */
  startsAt: number;
}

/** Everything an analyzer may look at; secrets never go in here (it can reach a prompt). */
export interface AnalysisContext {
  deployment_id: string;
  app_name: string;
  version: string;
  /** The version the release replaced (and rolled back to); '' for a first release. */
  previous_version: string;
  /** `instance` label values of the machines that ran the new version. */
  instances: string[];
  /** The application's RED metric templates ({{app}}, {{version}}, {{instances}}). */
  red_metrics: REDMetrics;
  trigger: AnalysisTrigger;
  reason: string;
  /** The guard's failing rules, when the guard triggered the analysis. */
  failing: RuleResultRecord[];
  alerts: FiringAlert[];
  /** From the release's start to the rollback (or the alert), epoch ms. */
  window: { from: number; to: number };
  /** As long as `window`, just before the release started: the old version alone. */
  baseline_window: { from: number; to: number };
  changes: ReleaseChanges;
}

export interface AnalyzerResult {
  findings: AnalysisFindings;
  tool_calls: ToolCall[];
  /** The model that wrote the findings, for an LLM. */
  model?: string;
}

/**
 * Reads the metrics and the changes of a release that went bad and says what happened.
 * Read-only (queries Prometheus, never changes it), so safe to retry; `progress` is called
 * as the investigation moves, for heartbeats.
 */
export interface Analyzer {
  /** `llm` or `heuristic`: what the report names as its author. */
  readonly name: string;
  analyze(context: AnalysisContext, progress: (detail: string) => void): Promise<AnalyzerResult>;
}
