import { parser } from '@prometheus-io/lezer-promql';
import type { REDMetrics, RollbackRule } from './application';
import { durationSeconds } from './duration';
import { metricTemplate, placeholders } from './policy';

/**
 * What a RED template or a custom rule's PromQL means, read with the Prometheus project's own
 * PromQL grammar before it is saved: a template that does not parse, cannot tell versions
 * apart, or measures something other than what relguard will do with it (a ratio where a rate
 * is expected) is refused then, not discovered mid-release as a guard that silently misreads.
 */

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export interface TemplateAnalysis {
  /** Why the template is not PromQL, with the character where it stops making sense. */
  error?: string;
  /** `{{name}}` placeholders relguard does not fill (a typo of {{app}}, say). */
  unknownPlaceholders: string[];
  /** The outermost expression, parentheses aside, is a `/`. */
  topLevelDivision: boolean;
  /**
   * The value is a ratio: its top-level arithmetic (through parentheses, + - * /, and the
   * aggregations that keep a value's unit, like sum or avg) divides by something other than a
   * number. `a / b * 100` is one; `sum(increase(x[5m])) / 300` (a per-second rate) is not.
   */
  divisionByVector: boolean;
  referencesVersion: boolean;
  /** Every range-vector and subquery window, in seconds, in the order written. */
  rangeSeconds: number[];
  /** A histogram_quantile over classic `_bucket` series whose aggregation drops `le`. */
  histogramWithoutLe: boolean;
}

export interface TemplateIssue {
  /** Relative to the application body, e.g. `['red_metrics_config', 'errors']`. */
  path: (string | number)[];
  message: string;
}

const placeholderPattern = /\{\{([^{}]*)\}\}/g;
const known = new Set<string>(placeholders);
const knownList = placeholders.map((name) => `{{${name}}}`).join(', ');

/**
 * A literal of the placeholder's own length, so that every position the parser reports is a
 * position in the template as written. The values land inside string literals, as relguard's.
 */
function standIn(placeholder: string, name: string): string {
  const first = name === 'version' ? 'v' : name === 'instances' ? 'm' : 'a';
  return first + '0'.repeat(placeholder.length - 1);
}

function children(node: SyntaxNode): SyntaxNode[] {
  const all: SyntaxNode[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) all.push(child);
  return all;
}

function unwrapParens(node: SyntaxNode): SyntaxNode {
  let inner = node;
  while (inner.name === 'ParenExpr' && inner.firstChild !== null) inner = inner.firstChild;
  return inner;
}

/** Every node below `node` (itself included) whose name is `name`. */
function descendants(node: SyntaxNode, name: string): SyntaxNode[] {
  const below = children(node).flatMap((child) => descendants(child, name));
  return node.name === name ? [node, ...below] : below;
}

const arithmetic = new Set(['Add', 'Sub', 'Mul', 'Div']);
/** Aggregations whose result has the unit of what they aggregate (count's does not). */
const unitKeeping = new Set(['Sum', 'Avg', 'Min', 'Max', 'Stddev', 'Topk', 'Bottomk']);

function dividesByVector(node: SyntaxNode): boolean {
  const expr = unwrapParens(node);
  if (expr.name === 'BinaryExpr') {
    const parts = children(expr);
    const operator = parts.find((part) => arithmetic.has(part.name));
    if (operator === undefined) return false;
    const operands = parts.filter(
      (part) =>
        part !== operator && part.name !== 'MatchingModifierClause' && part.name !== 'BoolModifier',
    );
    const divisor = operands.at(-1);
    if (
      operator.name === 'Div' &&
      divisor !== undefined &&
      unwrapParens(divisor).name !== 'NumberDurationLiteral'
    ) {
      return true;
    }
    return operands.some(dividesByVector);
  }
  if (expr.name === 'AggregateExpr') {
    const op = expr.getChild('AggregateOp')?.firstChild?.name ?? '';
    const body = expr.getChild('FunctionCallBody');
    return unitKeeping.has(op) && body !== null && children(body).some(dividesByVector);
  }
  return false;
}

function isTopLevelDivision(expression: SyntaxNode): boolean {
  const expr = unwrapParens(expression);
  return expr.name === 'BinaryExpr' && expr.getChild('Div') !== null;
}

/** The seconds of every MatrixSelector's window and every subquery's range (not its step). */
function rangeWindows(root: SyntaxNode, text: string): number[] {
  const seconds: number[] = [];
  const cursor = root.cursor();
  do {
    if (cursor.name !== 'MatrixSelector' && cursor.name !== 'SubqueryExpr') continue;
    const window = cursor.node.getChild('DurationExpr');
    const literal = window?.firstChild;
    // Duration arithmetic ([5m+1m], [step()]) has no one value to read here.
    if (literal?.name !== 'NumberDurationLiteralInDurationContext' || literal.nextSibling) {
      continue;
    }
    const value = durationSeconds(text.slice(literal.from, literal.to));
    if (value !== undefined) seconds.push(value);
  } while (cursor.next());
  return seconds;
}

function dropsLe(aggregation: SyntaxNode, text: string): boolean {
  const modifier = aggregation.getChild('AggregateModifier');
  if (modifier === null) return true;
  const labels = descendants(modifier, 'LabelName').map((label) =>
    text.slice(label.from, label.to),
  );
  return modifier.getChild('Without') !== null ? labels.includes('le') : !labels.includes('le');
}

/**
 * A classic histogram's quantile needs its buckets' `le` label through any aggregation. A
 * native histogram has no `le`, so only selectors of `_bucket` series are judged.
 */
function histogramQuantileWithoutLe(root: SyntaxNode, text: string): boolean {
  return descendants(root, 'FunctionCall').some((call) => {
    const fn = call.getChild('FunctionIdentifier')?.firstChild?.name;
    if (fn !== 'HistogramQuantile' && fn !== 'HistogramQuantiles') return false;
    const args = children(call.getChild('FunctionCallBody') ?? call);
    const vector = args.at(-1);
    if (vector === undefined) return false;
    const aggregation = unwrapParens(vector);
    if (aggregation.name !== 'AggregateExpr' || !dropsLe(aggregation, text)) return false;
    return descendants(aggregation, 'Identifier').some((name) =>
      text.slice(name.from, name.to).endsWith('_bucket'),
    );
  });
}

/**
 * Why `text` does not parse as PromQL, or undefined when it does. `text` is the template as
 * parsed, `template` as written: the same length, placeholder aside (a query: both the same).
 */
export function parseError(root: SyntaxNode, text: string, template: string): string | undefined {
  let at: SyntaxNode | undefined;
  const cursor = root.cursor();
  do {
    if (cursor.type.isError) {
      at = cursor.node;
      break;
    }
  } while (cursor.next());
  if (text.trim() === '') return 'is empty';
  if (at === undefined) return undefined;
  const position = at.from;
  const character = position + 1;
  for (const match of template.matchAll(placeholderPattern)) {
    const start = match.index;
    if (position >= start && position < start + match[0].length) {
      return (
        `does not parse as PromQL at character ${character}: ${match[0]} is filled in as a ` +
        `bare word there; placeholders belong inside a quoted string, as in ` +
        `version="{{version}}" or instance=~"{{instances}}"`
      );
    }
  }
  const rest = text.slice(position).trimStart();
  if (rest === '') {
    return (
      `does not parse as PromQL: it ends at character ${character} before the expression is ` +
      `complete (an unclosed "(", "{" or "[", an open string, or an operator without its operand)`
    );
  }
  const token = at.to > at.from ? text.slice(at.from, at.to) : (/^\S+/.exec(rest)?.[0] ?? '');
  const unknownFunction = /([A-Za-z_:][\w:]*)\s*$/.exec(text.slice(0, position));
  const hint =
    token.startsWith('(') && unknownFunction !== null
      ? `; "${unknownFunction[1]}" is not a PromQL function`
      : '';
  return `does not parse as PromQL at character ${character}: unexpected "${token.slice(0, 20)}"${hint}`;
}

export function analyzeTemplate(template: string): TemplateAnalysis {
  const unknownPlaceholders: string[] = [];
  const parsable = template.replace(placeholderPattern, (placeholder, name: string) => {
    if (!known.has(name)) unknownPlaceholders.push(placeholder);
    return standIn(placeholder, name);
  });
  const root = parser.parse(parsable).topNode;
  const error = parseError(root, parsable, template);
  // The root is the PromQL node; the expression is its one child.
  const expression = root.firstChild ?? root;
  return {
    ...(error === undefined ? {} : { error }),
    unknownPlaceholders,
    topLevelDivision: isTopLevelDivision(expression),
    divisionByVector: dividesByVector(expression),
    referencesVersion: template.includes('{{version}}'),
    rangeSeconds: rangeWindows(root, parsable),
    histogramWithoutLe: histogramQuantileWithoutLe(root, parsable),
  };
}

const example = {
  rate: 'sum(rate(http_requests_total{app="{{app}}",version="{{version}}"}[1m]))',
  errors: 'sum(rate(http_requests_total{app="{{app}}",version="{{version}}",status=~"5.."}[1m]))',
  duration:
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}[1m])))',
};

type TemplateKind = 'rate' | 'errors' | 'duration' | 'error_ratio' | 'custom';

/** The problems every PromQL relguard fills and runs has, whatever it measures. */
function commonIssues(analysis: TemplateAnalysis, kind: TemplateKind): string[] {
  if (analysis.error !== undefined) return [analysis.error];
  const messages: string[] = [];
  if (analysis.unknownPlaceholders.length > 0) {
    messages.push(
      `uses ${analysis.unknownPlaceholders.join(', ')}, which relguard does not fill in ` +
        `(the guard would refuse it mid-release); known placeholders: ${knownList}`,
    );
  }
  if (!analysis.referencesVersion) {
    const sample = kind === 'custom' || kind === 'error_ratio' ? example.rate : example[kind];
    messages.push(
      `does not use {{version}}, so it measures every version at once and the guard cannot ` +
        `tell the new release from the old one; add version="{{version}}" to each selector, ` +
        `as in ${sample}`,
    );
  }
  return messages;
}

function templateIssues(template: string, kind: TemplateKind): string[] {
  const analysis = analyzeTemplate(template);
  const messages = commonIssues(analysis, kind);
  if (analysis.error !== undefined) return messages;
  if (kind === 'errors' && analysis.divisionByVector) {
    messages.push(
      `looks like a ratio (it divides by another series), but errors must be failed requests ` +
        `per second: error_rate rules divide it by the rate template themselves, so a 15% ` +
        `failure would read as 0.15 divided by the request rate and pass. Put this ratio in ` +
        `red_metrics_config.error_ratio instead (error_rate rules use it as it is), and write ` +
        `errors as a rate, as in ${example.errors}`,
    );
  }
  if (kind === 'rate' && analysis.divisionByVector) {
    messages.push(
      `divides by another series, but rate must be requests per second (error_rate rules ` +
        `divide errors by it, and min_request_rate compares with it); write it as a rate, as ` +
        `in ${example.rate}`,
    );
  }
  if (kind === 'duration' && analysis.histogramWithoutLe) {
    messages.push(
      `aggregates the histogram buckets without keeping the le label, so histogram_quantile ` +
        `has no buckets to read and returns nothing; keep le in the grouping, as in ` +
        `${example.duration}`,
    );
  }
  return messages;
}

/**
 * Everything wrong with an application's RED templates and custom rules, each named by its
 * path in the application body. Empty when all of them can be trusted.
 */
export function redTemplateIssues(red: REDMetrics, rules: RollbackRule[]): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const kinds = ['rate', 'errors', 'duration', 'error_ratio'] as const;
  for (const kind of kinds) {
    const template = red[kind];
    if (template === undefined) continue;
    for (const message of templateIssues(template, kind)) {
      issues.push({ path: ['red_metrics_config', kind], message });
    }
  }
  rules.forEach((rule, index) => {
    if (rule.metric !== 'custom' || rule.promql === undefined) return;
    for (const message of templateIssues(rule.promql, 'custom')) {
      issues.push({ path: ['rollback_policy', 'rules', index, 'promql'], message });
    }
  });
  return issues;
}

/**
 * The longest range window (`[1m]`, a subquery's `[5m:]`) the templates and custom rules use,
 * in seconds: a fresh machine has no value for it until that much time has been scraped. 0 when
 * none uses a window (a recording rule, say).
 */
export function maxRangeSeconds(red: REDMetrics, rules: RollbackRule[] = []): number {
  // Each rule's query as the guard runs it: cpu and memory bring windows of their own.
  const ruleTemplate = (rule: RollbackRule): string | undefined => {
    try {
      return metricTemplate(rule, red);
    } catch {
      return undefined; // refused on its own by redTemplateIssues
    }
  };
  const templates = [red.rate, red.errors, red.duration, red.error_ratio].concat(
    rules.map(ruleTemplate),
  );
  return Math.max(
    0,
    ...templates.flatMap((template) =>
      template === undefined ? [] : analyzeTemplate(template).rangeSeconds,
    ),
  );
}
