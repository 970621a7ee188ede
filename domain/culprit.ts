import type { FaultClass, SuspectChange } from './analysis-report';
import type { ChangedFile, PullRequest } from './code-change';

/**
 * Which pull requests of a release most likely caused what the metrics showed: a pure
 * ranking over titles, descriptions, changed paths and the lines the patches add and remove.
 * Points add up per pull request and are squashed into 0..1, so one strong lead (a config
 * that adds an error fault on the failing route) outweighs many weak ones, and a change that
 * cannot run (documentation, tests) stays low whatever it mentions.
 */

/** What the metrics showed, as far as it helps to find the change behind it. */
export interface CulpritSignals {
  fault_class: FaultClass;
  /** Route templates whose series went bad: `/api/pay`, `/api/users/:id`. */
  routes: readonly string[];
  /** Metric names that went bad (`http_requests_total`); a patch that names one is a lead. */
  metrics?: readonly string[];
}

/** How a changed file can affect a running service. */
export type FileKind = 'code' | 'config' | 'dependencies' | 'docs' | 'test' | 'ci';

/** Kinds that never run in production: they cannot cause a fault, whatever they mention. */
const inertKinds: readonly FileKind[] = ['docs', 'test', 'ci'];

const dependencyFiles =
  /(^|\/)(package(-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|go\.(mod|sum)|requirements[\w.-]*\.txt|Pipfile(\.lock)?|poetry\.lock|pyproject\.toml|Cargo\.(toml|lock)|Gemfile(\.lock)?|pom\.xml|build\.gradle(\.kts)?)$/i;
const testFiles =
  /(^|\/)(tests?|__tests__|__mocks__|spec|specs|e2e|fixtures|testdata)\/|\.(test|spec)\.[cm]?[jt]sx?$|_test\.(go|py)$|(^|\/)test_[^/]*\.py$/i;
const docFiles =
  /(^|\/)(docs?|documentation)\/|\.(md|markdown|mdx|rst|adoc|txt)$|(^|\/)(LICENSE|CHANGELOG|AUTHORS|CODEOWNERS|NOTICE)[^/]*$/i;
const ciFiles =
  /(^|\/)(\.github|\.gitlab|\.circleci|\.ci|\.husky)\/|(^|\/)(\.gitlab-ci\.yml|Jenkinsfile|\.travis\.yml|\.gitignore|\.editorconfig|\.prettierrc[^/]*|\.eslintrc[^/]*|eslint\.config\.[cm]?js)$/i;
const configFiles = /\.(json|jsonc|ya?ml|toml|ini|conf|cfg|properties|env)$|(^|\/)\.env[^/]*$/i;

/** What a path is, judged from its name alone (dependencies before docs: requirements.txt). */
export function fileKind(path: string): FileKind {
  if (dependencyFiles.test(path)) return 'dependencies';
  if (ciFiles.test(path)) return 'ci';
  if (testFiles.test(path)) return 'test';
  if (docFiles.test(path)) return 'docs';
  if (configFiles.test(path)) return 'config';
  return 'code';
}

/** Words of `text`, lower case, camelCase and snake_case split: "handlePayment" → handle, payment. */
function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/**
 * The added (`+`), removed (`-`) and context lines of a unified diff, without the file
 * headers; the context holds the hunk headers' text too (often the enclosing function).
 */
export function patchLines(patch: string | undefined): {
  added: string[];
  removed: string[];
  context: string[];
} {
  const added: string[] = [];
  const removed: string[] = [];
  const context: string[] = [];
  // `+++ b/file` is a header before the first hunk, but `++counter` added inside one.
  let inHunk = false;
  for (const line of (patch ?? '').split('\n')) {
    if (line.startsWith('@@')) {
      inHunk = true;
      const heading = line.replace(/^@@[^@]*@@ ?/, '');
      if (heading !== '') context.push(heading);
    } else if (!inHunk && (line.startsWith('+++') || line.startsWith('---'))) continue;
    else if (line.startsWith('+')) added.push(line.slice(1));
    else if (line.startsWith('-')) removed.push(line.slice(1));
    else if (line.startsWith(' ')) context.push(line.slice(1));
  }
  return { added, removed, context };
}

interface Keyword {
  /** As evidence shows it; its words are what is matched. */
  label: string;
  /** Matches one word instead of the label's words. */
  word?: RegExp;
}

const keywords = (...labels: (string | Keyword)[]): Keyword[] =>
  labels.map((label) => (typeof label === 'string' ? { label } : label));

const serverErrorStatus: Keyword = { label: '5xx status', word: /^5\d\d$|^5xx$/ };

/** Words that added lines typical of each fault class carry. */
const addedWords: Record<FaultClass, Keyword[]> = {
  errors: keywords(
    'throw',
    'Error',
    'exception',
    'reject',
    'status',
    serverErrorStatus,
    'fail',
    'failure',
    'abort',
    'panic',
    'crash',
  ),
  latency: keywords(
    'sleep',
    'setTimeout',
    'delay',
    'timeout',
    'latency',
    'slow',
    'jitter',
    'wait',
    'retries',
  ),
  cpu: keywords(
    'loop',
    'while',
    'hash',
    'crypto',
    'pbkdf2',
    'bcrypt',
    'scrypt',
    'sha256',
    'RegExp',
    'regex',
    'sort',
    'compute',
    'cpu',
    'fibonacci',
    'stringify',
  ),
  memory: keywords(
    'cache',
    'buffer',
    'Buffer.alloc',
    'push',
    'new Map',
    'new Set',
    'leak',
    'alloc',
    'allocate',
    'memory',
    'heap',
    'retain',
  ),
  saturation: keywords(
    'pool',
    'connection',
    'connections',
    'queue',
    'concurrency',
    'network',
    'socket',
    'maxSockets',
    'keepAlive',
    'bandwidth',
    'drop',
    'throttle',
    'semaphore',
    'backpressure',
  ),
  unknown: [],
};

/** What a removed line takes away that kept each fault class at bay. */
const removedWords: Record<FaultClass, Keyword[]> = {
  errors: keywords('retry', 'catch', 'fallback', 'backoff', 'validate'),
  latency: keywords('cache', 'memoize', 'timeout', 'index', 'batch'),
  cpu: keywords('cache', 'memoize', 'break'),
  memory: keywords('delete', 'clear', 'evict', 'maxSize', 'ttl', 'limit', 'removeListener'),
  saturation: keywords('timeout', 'close', 'release', 'destroy', 'limit'),
  unknown: [],
};

/** The fault types a config can switch on (mockserver's, and the usual chaos tools'). */
const configFaultClass: Record<string, FaultClass> = {
  error: 'errors',
  errors: 'errors',
  abort: 'errors',
  crash: 'errors',
  latency: 'latency',
  delay: 'latency',
  cpu: 'cpu',
  memory: 'memory',
  network: 'saturation',
  disk: 'saturation',
  bandwidth: 'saturation',
};
const configFault = /["']?type["']?\s*[:=]\s*["']?([a-z]+)["']?/gi;

/** Route segments that name no resource. */
const genericSegments = new Set(['api', 'v1', 'v2', 'v3', 'rest', 'public', 'internal']);

interface RouteTerms {
  route: string;
  /** The route's literal (its static prefix, for a route with parameters). */
  literal: RegExp;
  /** The word forms of its last static segment: pay → pay, pays, payment, payments. */
  forms: Set<string>;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function singular(word: string): string {
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith('s') && !word.endsWith('ss') && word.length > 3) return word.slice(0, -1);
  return word;
}

function routeTerms(route: string): RouteTerms {
  const segments = route.split('/').filter((segment) => segment !== '');
  const firstParameter = segments.findIndex((segment) => /^[:{*]/.test(segment));
  const staticSegments = firstParameter === -1 ? segments : segments.slice(0, firstParameter);
  const prefix = `/${staticSegments.join('/')}`;
  // `/api/pay` must not match `/api/payouts`; `/api/users/` is followed by an id anyway. A
  // route with no static segment (`/`, `/:slug`) has no literal worth matching.
  const literal =
    staticSegments.length === 0
      ? /(?!)/
      : firstParameter === -1
        ? new RegExp(`${escapeRegex(prefix)}(?![\\w-])`)
        : new RegExp(`${escapeRegex(prefix)}/`);
  const named = [...staticSegments].reverse().find((segment) => !genericSegments.has(segment));
  const forms = new Set<string>();
  for (const word of words(named ?? '')) {
    const base = singular(word);
    for (const form of [word, base, `${base}s`, `${base}ment`, `${base}ments`]) forms.add(form);
  }
  return { route, literal, forms };
}

/** Quoted paths in code (`'/api/orders'`, `` `/api/users/${id}` ``), to spot other routes. */
const quotedPath = /['"`](\/[A-Za-z0-9_\-:{}$.]+(?:\/[A-Za-z0-9_\-:{}$.]+)+)\/?['"`]/g;

interface FileView {
  path: string;
  kind: FileKind;
  file: ChangedFile;
  added: string;
  removed: string;
  /** The unchanged lines around the change: what code it sits in. */
  context: string;
  addedWords: Set<string>;
  removedWords: Set<string>;
  pathWords: Set<string>;
}

const wordSet = (lines: readonly string[]): Set<string> => new Set(lines.flatMap(words));

/** The keywords of `list` that `present` holds (a keyword of several words needs them in order). */
function matching(list: readonly Keyword[], present: Set<string>, text: string): string[] {
  const joined = ` ${words(text).join(' ')} `;
  return list
    .filter(({ label, word: pattern }) => {
      if (pattern !== undefined) return [...present].some((word) => pattern.test(word));
      const parts = words(label);
      if (parts.length === 1) return present.has(parts[0]!);
      return joined.includes(` ${parts.join(' ')} `);
    })
    .map((keyword) => keyword.label);
}

/** An `await` within a few added lines after an added loop head: sequential waits per item. */
function awaitsInLoop(lines: readonly string[]): boolean {
  return lines.some(
    (line, index) =>
      /\b(for|while)\s*\(|\.forEach\(/.test(line) &&
      lines.slice(index, index + 6).some((next) => /\bawait\b/.test(next)),
  );
}

function listFiles(paths: readonly string[]): string {
  const shown = paths.slice(0, 3).join(', ');
  return paths.length > 3 ? `${shown} and ${paths.length - 3} more` : shown;
}

const faultWords: Record<FaultClass, string> = {
  errors: 'errors',
  latency: 'latency',
  cpu: 'CPU use',
  memory: 'memory use',
  saturation: 'saturation',
  unknown: 'the fault',
};

// Points → score: 1 point ≈ 0.28, 3 ≈ 0.63, 6 ≈ 0.86.
const pointScale = 3;
const weights = {
  routeLiteral: 2,
  routeWord: 1,
  routePath: 1.5,
  routeContext: 1.2,
  routeCap: 3.5,
  title: 0.8,
  body: 0.3,
  addedKeyword: 0.5,
  addedKeywordCap: 2,
  removedKeyword: 0.5,
  removedKeywordCap: 1,
  titleKeyword: 0.4,
  titleKeywordCap: 0.8,
  awaitInLoop: 0.5,
  configFaultMatching: 3,
  configFaultOther: 0.8,
  metricName: 0.3,
  dependencies: 0.4,
  sizeCap: 0.4,
  /** Only docs, tests or CI: it cannot have run. */
  inertFactor: 0.15,
  /** Its code is about other routes than the ones that went bad. */
  otherRouteFactor: 0.5,
} as const;

interface Scored {
  points: number;
  /** Strongest lead first. */
  evidence: string[];
}

/** Evidence with the points it earned, so the strongest lead is named first. */
class Ledger {
  private readonly items: { points: number; text: string }[] = [];
  points = 0;

  add(points: number, text: string): void {
    this.points += points;
    this.items.push({ points, text });
  }

  /** Scales every point earned so far: a change that cannot have caused the fault. */
  discount(factor: number, text: string): void {
    this.points *= factor;
    this.items.push({ points: 0, text });
  }

  evidence(): string[] {
    return [...this.items].sort((a, b) => b.points - a.points).map((item) => item.text);
  }
}

function scorePullRequest(pullRequest: PullRequest, signals: CulpritSignals): Scored {
  const faultClass = signals.fault_class;
  const routes = signals.routes.map(routeTerms);
  const ledger = new Ledger();

  const files: FileView[] = pullRequest.files.map((file) => {
    const { added, removed, context } = patchLines(file.patch);
    return {
      path: file.path,
      kind: fileKind(file.path),
      file,
      added: added.join('\n'),
      removed: removed.join('\n'),
      context: context.join('\n'),
      addedWords: wordSet(added),
      removedWords: wordSet(removed),
      pathWords: new Set(words(file.path)),
    };
  });
  const live = files.filter(
    (view) => !inertKinds.includes(view.kind) && view.kind !== 'dependencies',
  );
  const paths = (views: readonly FileView[]): string => listFiles(views.map((view) => view.path));

  // The route that went bad, in what the change runs. Several mentions of one route are one
  // lead, hence the cap.
  const routeLeads: { points: number; text: string }[] = [];
  for (const terms of routes) {
    const forms = [...terms.forms];
    const literalIn = live.filter((view) => terms.literal.test(view.added));
    const wordIn = live.filter(
      (view) => !literalIn.includes(view) && forms.some((form) => view.addedWords.has(form)),
    );
    const pathIn = live.filter((view) => forms.some((form) => view.pathWords.has(form)));
    const besideIn = live.filter(
      (view) => !literalIn.includes(view) && terms.literal.test(view.context),
    );
    if (literalIn.length > 0) {
      routeLeads.push({
        points: weights.routeLiteral,
        text: `adds lines mentioning ${terms.route} in ${paths(literalIn)}`,
      });
    }
    if (wordIn.length > 0) {
      const found = forms.filter((form) => wordIn.some((view) => view.addedWords.has(form)));
      routeLeads.push({
        points: weights.routeWord,
        text: `adds lines mentioning ${found.join(', ')} (${terms.route}) in ${paths(wordIn)}`,
      });
    }
    if (besideIn.length > 0) {
      routeLeads.push({
        points: weights.routeContext,
        text: `changes code next to ${terms.route} in ${paths(besideIn)}`,
      });
    }
    if (pathIn.length > 0) {
      routeLeads.push({
        points: weights.routePath,
        text: `changes ${paths(pathIn)}, named after ${terms.route}`,
      });
    }
  }
  const routePoints = routeLeads.reduce((sum, lead) => sum + lead.points, 0);
  const routeScale = routePoints > weights.routeCap ? weights.routeCap / routePoints : 1;
  for (const lead of routeLeads) ledger.add(lead.points * routeScale, lead.text);

  const titleWords = new Set(words(pullRequest.title));
  const bodyWords = new Set(words(pullRequest.body));
  for (const terms of routes) {
    const forms = [...terms.forms];
    const titleForm = forms.find((form) => titleWords.has(form));
    if (terms.literal.test(pullRequest.title)) {
      ledger.add(weights.title, `the title mentions ${terms.route}`);
    } else if (titleForm !== undefined) {
      ledger.add(weights.title, `the title mentions ${titleForm} (${terms.route})`);
    } else if (terms.literal.test(pullRequest.body) || forms.some((f) => bodyWords.has(f))) {
      ledger.add(weights.body, `the description mentions ${terms.route}`);
    }
  }

  // Words typical of the fault class, added, or taken away from what held it back.
  const addedHits = new Map<string, FileView[]>();
  const removedHits = new Map<string, FileView[]>();
  for (const view of live) {
    for (const label of matching(addedWords[faultClass], view.addedWords, view.added)) {
      addedHits.set(label, [...(addedHits.get(label) ?? []), view]);
    }
    for (const label of matching(removedWords[faultClass], view.removedWords, view.removed)) {
      removedHits.set(label, [...(removedHits.get(label) ?? []), view]);
    }
  }
  if (addedHits.size > 0) {
    ledger.add(
      Math.min(addedHits.size * weights.addedKeyword, weights.addedKeywordCap),
      `adds lines with ${[...addedHits.keys()].join(', ')} in ` +
        `${paths([...new Set([...addedHits.values()].flat())])} (typical of ${faultWords[faultClass]})`,
    );
  }
  if (removedHits.size > 0) {
    ledger.add(
      Math.min(removedHits.size * weights.removedKeyword, weights.removedKeywordCap),
      `removes lines with ${[...removedHits.keys()].join(', ')} in ` +
        `${paths([...new Set([...removedHits.values()].flat())])} (what kept ${faultWords[faultClass]} down)`,
    );
  }
  if (faultClass === 'latency') {
    const looping = live.filter((view) => awaitsInLoop(view.added.split('\n')));
    if (looping.length > 0) {
      ledger.add(weights.awaitInLoop, `adds an await inside a loop in ${paths(looping)}`);
    }
  }
  const titleHits = matching(addedWords[faultClass], titleWords, pullRequest.title);
  if (titleHits.length > 0) {
    ledger.add(
      Math.min(titleHits.length * weights.titleKeyword, weights.titleKeywordCap),
      `the title speaks of ${titleHits.join(', ')} (${faultWords[faultClass]})`,
    );
  }

  // A config that switches a fault on ships the bug itself.
  for (const view of live.filter((candidate) => candidate.kind === 'config')) {
    const types = new Set(
      [...view.added.matchAll(configFault)]
        .map((match) => (match[1] ?? '').toLowerCase())
        .filter((type) => configFaultClass[type] !== undefined),
    );
    for (const type of types) {
      const adds = configFaultClass[type];
      if (faultClass === 'unknown') {
        ledger.add(
          weights.configFaultOther,
          `adds ${article(type)} "${type}" fault in ${view.path} (${adds})`,
        );
      } else if (adds === faultClass) {
        ledger.add(
          weights.configFaultMatching,
          `adds ${article(type)} "${type}" fault in ${view.path}, and ${faultWords[faultClass]} ` +
            'is what went bad',
        );
      } else {
        ledger.add(
          weights.configFaultOther,
          `adds ${article(type)} "${type}" fault in ${view.path} (${adds}, not ${faultClass})`,
        );
      }
    }
  }

  for (const metric of signals.metrics ?? []) {
    const naming = live.filter((view) => view.added.includes(metric));
    if (naming.length > 0) {
      ledger.add(weights.metricName, `adds lines naming ${metric} in ${paths(naming)}`);
    }
  }

  const dependencies = files.filter((view) => view.kind === 'dependencies');
  if (dependencies.length > 0) {
    ledger.add(
      weights.dependencies,
      `changes dependencies in ${paths(dependencies)}: a new library version can change ` +
        'behaviour anywhere',
    );
  }

  // A large change has more room for a bug than a one-liner, but only a little more.
  const liveLines = live.reduce((sum, view) => sum + view.file.additions + view.file.deletions, 0);
  if (liveLines > 0) {
    ledger.add(
      weights.sizeCap * Math.min(1, Math.log10(1 + liveLines) / 3),
      `changes ${plural(liveLines, 'line')} of code or config in ${plural(live.length, 'file')}`,
    );
  }

  if (files.length > 0 && files.every((view) => inertKinds.includes(view.kind))) {
    const kinds = [...new Set(files.map((view) => view.kind))].join(' and ');
    ledger.discount(
      weights.inertFactor,
      `changes only ${kinds} files (${paths(files)}), which do not run in production`,
    );
  } else if (routes.length > 0 && routePoints === 0) {
    const elsewhere = new Set<string>();
    for (const view of live) {
      for (const match of `${view.added}\n${view.context}`.matchAll(quotedPath)) {
        const path = match[1] ?? '';
        const sibling = routes.some(
          (terms) => path.split('/')[1] === terms.route.split('/')[1] && !terms.literal.test(path),
        );
        if (sibling) elsewhere.add(path);
      }
    }
    if (elsewhere.size > 0) {
      ledger.discount(
        weights.otherRouteFactor,
        `its code is about ${[...elsewhere].slice(0, 3).join(', ')}, not ` +
          `${signals.routes.join(', ')}, which went bad`,
      );
    }
  }

  const evidence = ledger.evidence();
  if (evidence.length === 0) {
    const what = [...signals.routes, ...(faultClass === 'unknown' ? [] : [faultWords[faultClass]])];
    evidence.push(
      what.length === 0
        ? 'nothing in its title, files or patches stands out'
        : `nothing in its title, files or patches points at ${what.join(' or ')}`,
    );
  }
  return { points: ledger.points, evidence };
}

const article = (word: string): string => (/^[aeiou]/i.test(word) ? 'an' : 'a');

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * The pull requests of a release ranked by how strongly what they change points at the
 * fault the metrics showed, most likely first (input order, newest first, breaks ties). Every
 * suspect carries a score in 0..1 and the evidence behind it, in words.
 */
export function rankSuspects(
  pullRequests: readonly PullRequest[],
  signals: CulpritSignals,
): SuspectChange[] {
  return pullRequests
    .map((pullRequest) => {
      const { points, evidence } = scorePullRequest(pullRequest, signals);
      const score = Math.round((1 - Math.exp(-Math.max(points, 0) / pointScale)) * 100) / 100;
      const suspect: SuspectChange = {
        title: pullRequest.title || pullRequest.commit.slice(0, 12),
        score: Math.min(1, Math.max(0, score)),
        evidence,
      };
      if (pullRequest.number !== undefined) suspect.number = pullRequest.number;
      if (pullRequest.url !== undefined) suspect.url = pullRequest.url;
      if (pullRequest.author !== '') suspect.author = pullRequest.author;
      return suspect;
    })
    .sort((a, b) => b.score - a.score);
}
