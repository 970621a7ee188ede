import { AnalysisFindings } from '../../domain';
import { z } from '../../domain/zod';
import type { AnalysisContext } from './types';

/** The shape the model must answer in, as JSON Schema, derived from the one the report uses. */
const findingsSchema = JSON.stringify(z.toJSONSchema(AnalysisFindings));

export const systemPrompt = `You are relguard's incident analyst. A release of an application went bad: relguard rolled it back (or an alert fired) and an on-call engineer needs a report they can act on at 3 a.m.

Investigate with the Prometheus tools you are given: compare the new version with the previous one (metrics carry the labels app, version, instance, route, status), find the series that went bad, and read the pull requests of the release to find the one that most likely caused it. Be economical: a few well-chosen queries, not dozens.

Rules:
- Every PromQL query in your report must be valid and must return data when pasted into Prometheus later: use range selectors that cover the release window with the @ modifier at its end (for example rate(x[5m] @ 1700000000)).
- Rank suspect pull requests by evidence (changed files and added lines that match the anomalous routes and the kind of fault), most likely first, and say what the evidence is. Do not invent pull requests that are not in the release.
- If the evidence is weak, say so and give a low confidence.
- Remediation steps are concrete: what to revert or fix, and how to check it.

When you are done, answer with one JSON object and nothing else, matching this JSON Schema:
${findingsSchema}`;

/** Characters of patch text per file given to the model; the budget already bounds the total. */
const patchCharsPerFile = 3_000;

/** The release as the model sees it: facts only, never a secret (none are in the context). */
export function contextPrompt(context: AnalysisContext): string {
  const seconds = (ms: number) => Math.round(ms / 1000);
  const release = {
    app: context.app_name,
    version: context.version,
    previous_version: context.previous_version || '(first release)',
    instances_on_new_version: context.instances,
    trigger: context.trigger,
    reason: context.reason,
    release_window_unix_seconds: {
      from: seconds(context.window.from),
      to: seconds(context.window.to),
    },
    baseline_window_unix_seconds: {
      from: seconds(context.baseline_window.from),
      to: seconds(context.baseline_window.to),
    },
    red_metric_templates: {
      rate: context.red_metrics.rate,
      errors: context.red_metrics.errors,
      duration: context.red_metrics.duration,
    },
    failing_guard_rules: context.failing.map(({ rule, promql, value, threshold, message }) => ({
      rule,
      promql,
      value,
      threshold,
      message,
    })),
    alerts: context.alerts.map(({ name, labels, annotations }) => ({ name, labels, annotations })),
  };
  const changes = context.changes.pull_requests.map((pull) => ({
    number: pull.number,
    title: pull.title,
    author: pull.author,
    url: pull.url,
    body: pull.body.slice(0, 1_000),
    files: pull.files.map((file) => ({
      path: file.path,
      additions: file.additions,
      deletions: file.deletions,
      patch: file.patch?.slice(0, patchCharsPerFile),
    })),
  }));
  return [
    'The release:',
    JSON.stringify(release, null, 2),
    `Its pull requests (${context.changes.source}${context.changes.note ? `; ${context.changes.note}` : ''}):`,
    JSON.stringify(changes, null, 2),
  ].join('\n\n');
}

/** What the model is told when its answer does not fit the schema. */
export function repairPrompt(problems: string): string {
  return `Your answer is not a JSON object matching the schema: ${problems}. Answer again with the corrected JSON object only.`;
}
