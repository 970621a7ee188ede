import { parser } from '@prometheus-io/lezer-promql';
import { parseError } from './promql-templates';

/**
 * A report's PromQL pins its evaluation time (`rate(x[600s] @ 1700000000)`), so that pasted
 * into Prometheus days later it still gives the number the report gives. Charted over a
 * window, such a query is one flat value: every step evaluates the same instant. The chart
 * needs the same query with the pins taken out, so that each step is evaluated at its own time.
 * The query is read with the Prometheus project's own PromQL grammar, never with a pattern on
 * its text: a label value or a string argument that holds "@ 1700000000" is left as written.
 */

export interface UnpinnedQuery {
  /** The query to chart: the one given without its `@` modifiers, or as given when unreadable. */
  promql: string;
  /** The modifiers taken out, as written (`@ 1700000000`, `@ end()`), in the order written. */
  removed: string[];
  /** Why the query is charted as given: it does not parse as PromQL. */
  error?: string;
}

/**
 * `promql` with every `@` modifier removed (`@ <timestamp>`, `@ start()`, `@ end()`), however
 * deeply nested (subqueries, several in one query); everything else, `offset` included, stays
 * as written. A query that does not parse is returned as given, with the reason in `error`.
 */
export function unpinPromql(promql: string): UnpinnedQuery {
  const root = parser.parse(promql).topNode;
  const error = parseError(root, promql, promql);
  if (error !== undefined) return { promql, removed: [], error: `the query ${error}` };
  // Each StepInvariantExpr is `<expr> @ <time>`: what follows its expression is the modifier,
  // which holds no expression of its own, so the cuts never overlap.
  const cuts: { from: number; to: number }[] = [];
  const cursor = root.cursor();
  do {
    if (cursor.name !== 'StepInvariantExpr') continue;
    const expression = cursor.node.firstChild;
    if (expression === null) continue;
    cuts.push({ from: expression.to, to: cursor.to });
  } while (cursor.next());
  cuts.sort((a, b) => a.from - b.from);
  let unpinned = '';
  let kept = 0;
  for (const cut of cuts) {
    unpinned += promql.slice(kept, cut.from);
    kept = cut.to;
  }
  unpinned += promql.slice(kept);
  return {
    promql: unpinned,
    removed: cuts.map((cut) => promql.slice(cut.from, cut.to).trim().replace(/\s+/g, ' ')),
  };
}
