import { z } from './zod';

/** The kind of fault an analysis found; `saturation` covers network and event-loop stalls. */
export const FaultClass = z.enum(['errors', 'latency', 'cpu', 'memory', 'saturation', 'unknown']);
export type FaultClass = z.infer<typeof FaultClass>;

/** A series that went bad, as a PromQL query ready to paste into Prometheus. */
export const AnomalousMetric = z.object({
  name: z.string().min(1),
  promql: z.string().min(1),
  /** On the new version over the release window. */
  observed: z.number().optional(),
  /** On the previous version (or before the release) over the baseline window. */
  baseline: z.number().optional(),
  /** What was seen and why it matters, in a sentence. */
  observation: z.string().min(1),
});
export type AnomalousMetric = z.infer<typeof AnomalousMetric>;

/** A pull request that may have caused the fault, with what points at it. */
export const SuspectChange = z.object({
  number: z.number().int().positive().optional(),
  title: z.string().min(1),
  url: z.string().optional(),
  author: z.string().optional(),
  /** 0..1: how strongly the evidence points at this change. */
  score: z.number().min(0).max(1),
  evidence: z.array(z.string().min(1)).min(1),
});
export type SuspectChange = z.infer<typeof SuspectChange>;

/** What an analyzer concludes: the part of a report the analyzer writes (and an LLM answers). */
export const AnalysisFindings = z.object({
  summary: z.string().min(1),
  fault_class: FaultClass,
  anomalous_metrics: z.array(AnomalousMetric),
  root_cause: z.string().min(1),
  /** Most likely first. */
  suspect_changes: z.array(SuspectChange),
  remediation: z.array(z.string().min(1)).min(1),
  confidence: z.number().min(0).max(1),
});
export type AnalysisFindings = z.infer<typeof AnalysisFindings>;

/** One tool call the analyzer made while investigating. */
export const ToolCall = z.object({
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  ok: z.boolean(),
  /** The tool's error, or a short account of what it returned. */
  detail: z.string().optional(),
});
export type ToolCall = z.infer<typeof ToolCall>;

export const AnalysisTrigger = z.enum(['rollback', 'alert', 'manual']);
export type AnalysisTrigger = z.infer<typeof AnalysisTrigger>;

/** The root-cause report of one deployment; a new analysis replaces the old. */
export const AnalysisReport = AnalysisFindings.extend({
  deployment_id: z.string(),
  app_id: z.string(),
  app_name: z.string(),
  version: z.string(),
  previous_version: z.string(),
  trigger: AnalysisTrigger,
  /** Why the analysis ran: the rollback reason or the alert's name. */
  reason: z.string(),
  /** `llm` or `heuristic`. */
  analyzer: z.string(),
  model: z.string().optional(),
  /** Why the LLM did not write this report, when it was asked to. */
  fallback_reason: z.string().optional(),
  tool_calls: z.array(ToolCall),
  /** The release window and the baseline it was compared with (epoch ms). */
  window: z.object({ from: z.number().int(), to: z.number().int() }),
  baseline_window: z.object({ from: z.number().int(), to: z.number().int() }),
  /** Where the pull requests came from, and how many were read. */
  changes: z.object({
    source: z.string(),
    compare_url: z.string().optional(),
    pull_requests: z.number().int().nonnegative(),
    truncated: z.boolean(),
    note: z.string().optional(),
  }),
  createdTime: z.number().int(),
});
export type AnalysisReport = z.infer<typeof AnalysisReport>;
