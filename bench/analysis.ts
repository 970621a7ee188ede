/**
 * The heuristic analyzer's evaluation on labelled faults: for each scenario the mockserver runs
 * the previous version and the new one side by side under load, scraped by a real Prometheus;
 * the new one gets the scenario's fault; the analyzer reads the release window and the
 * release's pull requests (the culprit among unrelated ones and decoys). Prints, over the
 * scenarios, the share where
 *   - the culprit pull request is ranked first (target at least 0.8),
 *   - the fault class is right,
 *   - and the share of the report's PromQL queries that execute and return data (target 1.0).
 *
 *   npx tsx bench/analysis.ts [--fault-seconds 20] [--parallel 3]
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { HeuristicAnalyzer } from '../activities/analyzer';
import type { AnalysisContext } from '../activities/analyzer/types';
import { PrometheusClient } from '../activities/metrics';
import { REDMetrics, type AnalysisFindings, type PullRequest } from '../domain';
import { runLoad } from '../mockserver/load-generator';
import { spawnMockServer, type ChildServer } from '../test/mockserver/helpers';
import { startPrometheus } from '../test/support/prometheus';
import { scenarios, type AnalysisScenario } from './analysis-scenarios';

const { values } = parseArgs({
  options: {
    'fault-seconds': { type: 'string', default: '20' },
    parallel: { type: 'string', default: '3' },
  },
});
const faultSeconds = Number(values['fault-seconds']);
const parallel = Number(values.parallel);
const warmupSeconds = 12;
const culpritFirstTarget = 0.8;
const queriesWithDataTarget = 1;

interface Outcome {
  scenario: AnalysisScenario;
  findings: AnalysisFindings;
  culpritRank: number;
  queries: number;
  queriesWithData: number;
}

const prometheus = await startPrometheus({ scrapeIntervalSeconds: 1 });
const client = new PrometheusClient({ url: prometheus.url });
const analyzer = new HeuristicAnalyzer(client);

/** The culprit somewhere in the middle, as a release's history would have it. */
function releasePulls(scenario: AnalysisScenario): PullRequest[] {
  const pulls = [...scenario.others];
  pulls.splice(Math.floor(pulls.length / 2), 0, scenario.culprit);
  return pulls;
}

async function runScenario(scenario: AnalysisScenario, index: number): Promise<Outcome> {
  const app = `eval${index}`;
  const start = (version: string) =>
    spawnMockServer({
      args: [
        '--port',
        '0',
        '--app',
        app,
        '--app-version',
        version,
        '--instance',
        `${app}-${version}`,
      ],
    });
  const versions = ['v1.0.0', 'v1.1.0'];
  const servers: ChildServer[] = await Promise.all(versions.map(start));
  const current = servers[1]!;
  const stopLoad = new AbortController();
  try {
    // One group per machine, labelled as relguard labels it: the job's target labels win.
    await prometheus.addTargets(
      app,
      servers.map((server, i) => ({
        targets: [new URL(server.url).host],
        labels: { app, version: versions[i]!, instance: `${app}-${versions[i]!}` },
      })),
    );
    const load = runLoad({
      targets: servers.map((server) => server.url),
      rps: 40,
      signal: stopLoad.signal,
      timeoutMs: 3000,
    });
    await delay(warmupSeconds * 1000);
    const injected = await fetch(`${current.url}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...scenario.fault, duration: '10m' }),
    });
    if (injected.status !== 201)
      throw new Error(`${scenario.name}: fault refused ${injected.status}`);
    const faultAt = Date.now();
    await delay(faultSeconds * 1000);
    const at = Date.now();
    const context: AnalysisContext = {
      deployment_id: `eval-${index}`,
      app_name: app,
      version: 'v1.1.0',
      previous_version: 'v1.0.0',
      instances: [`${app}-v1.1.0`],
      red_metrics: REDMetrics.parse({}),
      trigger: 'rollback',
      reason: `metric guard: ${scenario.name}`,
      failing: [],
      alerts: [],
      window: { from: faultAt, to: at },
      baseline_window: { from: faultAt - (at - faultAt), to: faultAt },
      changes: {
        source: 'github',
        repo: 'acme/shop',
        from: 'v1.0.0',
        to: 'v1.1.0',
        pull_requests: releasePulls(scenario),
        truncated: false,
      },
    };
    const { findings } = await analyzer.analyze(context, () => {});
    stopLoad.abort();
    await load;
    // Pasted into Prometheus afterwards, each query must still run and find its data.
    let queriesWithData = 0;
    for (const metric of findings.anomalous_metrics) {
      const answer = await client.instantQuery(metric.promql).catch(() => undefined);
      const hasData =
        answer !== undefined &&
        (answer.resultType === 'scalar' ||
          answer.samples.some((sample) => Number.isFinite(sample.value)));
      if (hasData) queriesWithData++;
    }
    return {
      scenario,
      findings,
      culpritRank:
        findings.suspect_changes.findIndex(
          (suspect) => suspect.number === scenario.culprit.number,
        ) + 1,
      queries: findings.anomalous_metrics.length,
      queriesWithData,
    };
  } finally {
    stopLoad.abort();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

const outcomes: Outcome[] = [];
try {
  for (let first = 0; first < scenarios.length; first += parallel) {
    const batch = scenarios.slice(first, first + parallel);
    outcomes.push(
      ...(await Promise.all(batch.map((scenario, i) => runScenario(scenario, first + i)))),
    );
  }
} finally {
  await prometheus.stop();
}

const share = (count: number, of: number) => (of === 0 ? 0 : count / of);
const culpritFirst = outcomes.filter((outcome) => outcome.culpritRank === 1).length;
const classRight = outcomes.filter(
  (outcome) => outcome.findings.fault_class === outcome.scenario.faultClass,
).length;
const queries = outcomes.reduce((sum, outcome) => sum + outcome.queries, 0);
const queriesWithData = outcomes.reduce((sum, outcome) => sum + outcome.queriesWithData, 0);
const culpritFirstShare = share(culpritFirst, outcomes.length);
const queriesWithDataShare = share(queriesWithData, queries);

console.log('\nAnalysis evaluation: the heuristic analyzer on labelled faults\n');
console.table(
  outcomes.map((outcome) => ({
    scenario: outcome.scenario.name,
    'class (expected)': `${outcome.findings.fault_class} (${outcome.scenario.faultClass})`,
    'culprit rank': outcome.culpritRank === 0 ? 'absent' : outcome.culpritRank,
    'top suspect': outcome.findings.suspect_changes[0]?.title ?? '-',
    confidence: outcome.findings.confidence.toFixed(2),
    'queries with data': `${outcome.queriesWithData}/${outcome.queries}`,
  })),
);
console.log(
  [
    `culprit ranked first: ${culpritFirstShare.toFixed(2)} (${culpritFirst}/${outcomes.length}; target >= ${culpritFirstTarget.toFixed(2)})`,
    `fault class right:    ${share(classRight, outcomes.length).toFixed(2)} (${classRight}/${outcomes.length})`,
    `queries with data:    ${queriesWithDataShare.toFixed(2)} (${queriesWithData}/${queries}; target ${queriesWithDataTarget.toFixed(2)})`,
  ].join('\n'),
);
console.log(
  JSON.stringify({
    bench: 'analysis',
    scenarios: outcomes.length,
    culprit_first: culpritFirst,
    culprit_first_share: Number(culpritFirstShare.toFixed(3)),
    culprit_first_target: culpritFirstTarget,
    class_right: classRight,
    class_right_share: Number(share(classRight, outcomes.length).toFixed(3)),
    queries,
    queries_with_data: queriesWithData,
    queries_with_data_share: Number(queriesWithDataShare.toFixed(3)),
    queries_with_data_target: queriesWithDataTarget,
    meets_target:
      culpritFirstShare >= culpritFirstTarget && queriesWithDataShare >= queriesWithDataTarget,
  }),
);
