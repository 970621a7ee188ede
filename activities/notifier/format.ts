import type { Alert } from '../../domain/alert';
import type { RuleResult } from '../../domain/guard';

/**
 * How one service marks text up. Every service renders the same facts in the same order; only
 * the markup differs, so a person reading Slack and one reading WeCom see the same evidence.
 */
export interface Markup {
  /** Escapes free text (names, messages) so that it cannot be read as markup. */
  text(value: string): string;
  bold(value: string): string;
  code(value: string): string;
  /** The label comes already escaped by `text`. */
  link(label: string, url: string): string;
  /** The numbers that broke a rule, the first thing a person looks for. */
  highlight(value: string): string;
  heading(value: string): string;
  bullet: string;
  /** Between the message's lines: some renderers join single newlines into one paragraph. */
  lineBreak: string;
}

/** Backticks cannot be escaped inside a code span, so the fence outgrows the longest run. */
function codeSpan(value: string): string {
  const longestRun = Math.max(0, ...Array.from(value.matchAll(/`+/g), (match) => match[0].length));
  const fence = '`'.repeat(longestRun + 1);
  const padding = value.startsWith('`') || value.endsWith('`') ? ' ' : '';
  return `${fence}${padding}${value}${padding}${fence}`;
}

const identity = (value: string): string => value;

export const plainText: Markup = {
  text: identity,
  bold: identity,
  code: identity,
  link: (label, url) => `${label}: ${url}`,
  highlight: identity,
  heading: identity,
  bullet: '- ',
  lineBreak: '\n',
};

/** Slack reads &, < and > as control characters in every text field, code included. */
export function escapeSlack(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const slackMrkdwn: Markup = {
  text: escapeSlack,
  bold: (value) => `*${value}*`,
  code: (value) => codeSpan(escapeSlack(value)),
  // A | or > would end Slack's <url|label> early; the label comes escaped already.
  link: (label, url) =>
    `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${label.replace(/\|/g, '¦')}>`,
  highlight: identity,
  heading: (value) => `*${value}*`,
  bullet: '• ',
  lineBreak: '\n',
};

/**
 * Feishu's card markdown reads <font>, <at> and friends as tags, so < > & in free text go as
 * HTML entities (its documented escapes); inside a code span every character is literal.
 */
export const feishuMarkdown: Markup = {
  text: (value) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  bold: (value) => `**${value}**`,
  code: codeSpan,
  link: (label, url) => `[${label.replace(/[[\]]/g, '')}](${url.replace(/\)/g, '%29')})`,
  highlight: (value) => `<font color='red'>${value}</font>`,
  heading: (value) => `**${value}**`,
  bullet: '- ',
  lineBreak: '\n',
};

/** DingTalk's markdown joins single newlines, so every line is its own paragraph. */
export const dingtalkMarkdown: Markup = {
  text: identity,
  bold: (value) => `**${value}**`,
  code: codeSpan,
  link: (label, url) => `[${label.replace(/[[\]]/g, '')}](${url.replace(/\)/g, '%29')})`,
  highlight: identity,
  heading: (value) => `### ${value}`,
  bullet: '- ',
  lineBreak: '\n\n',
};

export const wecomMarkdown: Markup = {
  text: identity,
  bold: (value) => `**${value}**`,
  code: codeSpan,
  link: (label, url) => `[${label.replace(/[[\]]/g, '')}](${url.replace(/\)/g, '%29')})`,
  highlight: (value) => `<font color="warning">${value}</font>`,
  heading: (value) => `### ${value}`,
  bullet: '- ',
  lineBreak: '\n',
};

export interface FormatOptions {
  markup: Markup;
  /** The most the text may measure, in `measure`'s unit. */
  limit: number;
  /** Bytes of UTF-8 by default: what Feishu, DingTalk and WeCom count. */
  measure?: (text: string) => number;
  /** Opens with the title, for services whose message has no title of its own. */
  title?: boolean;
  /** Writes the links into the text, for services without buttons. */
  links?: boolean;
}

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Machines named before "and N more": enough to see which, few enough to leave room for rules. */
const machinesShown = 10;

/**
 * The alert in words, the same evidence for every service: what happened, the app and its
 * versions, the machines, each failing rule with its numbers and PromQL, what relguard did, when,
 * and the links. Rules that do not fit within `limit` are cut from the end and counted
 * ("and 3 more"); a head that alone does not fit is cut short.
 */
export function formatAlert(alert: Alert, options: FormatOptions): string {
  const { markup, limit } = options;
  const measure = options.measure ?? utf8Bytes;
  const label = (name: string): string => markup.bold(`${name}:`);
  const text = (value: string): string => markup.text(oneLine(value));

  const head: string[] = [];
  if (options.title === true) head.push(markup.heading(text(alert.title)));
  if (alert.deployment_id === '') {
    // Not about a release (the health watcher's): the version the machines run, no history.
    head.push(
      `${label('App')} ${text(alert.app)}  ${label('Version')} ${text(alert.version || 'none')}`,
    );
  } else {
    head.push(
      `${label('App')} ${text(alert.app)}  ${label('Version')} ${text(alert.version)} ${
        alert.previous_version === '' ? '(first release)' : `→ ${text(alert.previous_version)}`
      }`,
    );
    head.push(`${label('Deployment')} ${text(alert.deployment_id)}`);
  }
  if (alert.machines.length > 0) {
    const shown = alert.machines.slice(0, machinesShown).map(text).join(', ');
    const hidden = alert.machines.length - machinesShown;
    head.push(
      `${label(`Machines (${alert.machines.length})`)} ${shown}${hidden > 0 ? ` and ${hidden} more` : ''}`,
    );
  }

  const tail: string[] = [`${label('Action')} ${text(alert.action)}`];
  tail.push(`${label('At')} ${new Date(alert.at).toISOString()}`);
  if (options.links === true && alert.links.length > 0) {
    tail.push(
      `${label('Links')} ${alert.links.map((link) => markup.link(text(link.label), link.url)).join(' · ')}`,
    );
  }

  // A query stays pasteable when whole, but one giant query must not crowd out the others.
  const queryLimit = Math.max(80, Math.floor(limit / 4));
  const rules = alert.failing.map((result) => formatRule(result, markup, queryLimit));
  const compose = (shown: number): string => {
    const lines = [...head];
    if (rules.length > 0) {
      lines.push(label(`Failing rules (${rules.length})`));
      const ruleLines = rules.slice(0, shown);
      if (shown < rules.length) {
        ruleLines.push(`${markup.bullet}and ${rules.length - shown} more`);
      }
      // A rule's PromQL sits on its own line under the rule, inside the same list item.
      lines.push(ruleLines.join('\n'));
    }
    lines.push(...tail);
    return lines.join(markup.lineBreak);
  };

  const whole = compose(rules.length);
  if (measure(whole) <= limit) return whole;
  // More rules only ever make the text longer, so the most that fit is found by halving.
  let fits = -1;
  let low = 0;
  let high = rules.length - 1;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    if (measure(compose(middle)) <= limit) {
      fits = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  if (fits >= 0) return compose(fits);
  return truncate(compose(0), limit, measure);
}

/** The rule's verdict in numbers: `error-rate: 0.31 > 0.05`, and its PromQL on the next line. */
function formatRule(result: RuleResult, markup: Markup, queryLimit: number): string {
  const name = markup.text(oneLine(result.rule));
  const relative = result.baseline !== undefined || result.baseline_promql !== undefined;
  let verdict: string;
  if (result.verdict === 'fail' && result.value !== undefined) {
    const threshold = relative
      ? `${formatNumber(result.threshold)} × baseline${result.baseline === undefined ? '' : ` ${formatNumber(result.baseline)}`}`
      : formatNumber(result.threshold);
    verdict = `${markup.highlight(formatNumber(result.value))} ${markup.text(result.operator)} ${markup.text(threshold)}`;
  } else {
    const what = result.verdict === 'no_data' ? 'no data' : result.verdict;
    verdict = `${what} (${markup.text(oneLine(result.message))})`;
  }
  const queries = [markup.code(clip(oneLine(result.promql), queryLimit))];
  if (result.baseline_promql !== undefined) {
    queries.push(`baseline ${markup.code(clip(oneLine(result.baseline_promql), queryLimit))}`);
  }
  return `${markup.bullet}${markup.bold(name)}: ${verdict}\n  ${queries.join('\n  ')}`;
}

/** Four significant digits: 0.3123 and 1235, not 0.31234567 or 1234.5678. */
export function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}

function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

function clip(value: string, max: number): string {
  const characters = Array.from(value);
  return characters.length <= max ? value : `${characters.slice(0, max - 1).join('')}…`;
}

/** Cuts at a character boundary, never inside a surrogate pair, and marks the cut. */
export function truncate(value: string, limit: number, measure: (text: string) => number): string {
  if (measure(value) <= limit) return value;
  const characters = Array.from(value);
  let low = 0;
  let high = characters.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (measure(`${characters.slice(0, middle).join('')}…`) <= limit) low = middle;
    else high = middle - 1;
  }
  return `${characters.slice(0, low).join('')}…`;
}
