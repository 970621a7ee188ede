import { z } from './zod';

/** A PromQL query that showed the anomaly, ready to paste into Prometheus. */
export const AnomalousMetric = z.object({
  name: z.string(),
  promql: z.string(),
  observation: z.string(),
});
export type AnomalousMetric = z.infer<typeof AnomalousMetric>;

export const SuspectChange = z.object({
  title: z.string(),
  url: z.string().optional(),
  author: z.string().optional(),
  reason: z.string(),
  score: z.number().min(0).max(1),
});
export type SuspectChange = z.infer<typeof SuspectChange>;

/** The root-cause report of one deployment; written by an analyzer, one per deployment. */
export const AnalysisReport = z.object({
  deployment_id: z.string(),
  app_id: z.string(),
  app_name: z.string(),
  analyzer: z.string(),
  summary: z.string(),
  root_cause: z.string(),
  anomalous_metrics: z.array(AnomalousMetric),
  suspect_changes: z.array(SuspectChange),
  remediation: z.array(z.string()),
  createdTime: z.number().int(),
});
export type AnalysisReport = z.infer<typeof AnalysisReport>;
