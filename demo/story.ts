import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { body, createApiClient, type ApiClient } from '../cli/api-client';
import { ApiError } from '../cli/errors';
import type { AnalysisReport, Application, ApplicationUpdate, Deployment } from '../client';
import type { Alert, AlertKind, DeploymentStatus } from '../domain';
import { analysisWorkflowId, isTerminal } from '../domain';
import { expectedAlerts, latestDeliveries } from '../domain/alert-deliveries';
import { runLoad } from '../mockserver/load-generator';
import { createDemoRepo, type DemoVersion } from './demo-repo';
import { freePort } from './free-port';

export const demoAppName = 'shop-demo';
export const culpritNumber = 103;

export interface DemoOptions {
  apiUrl: string;
  token: string;
  /** The repository and the machines' deploy path go under it. */
  workDir: string;
  temporalUiUrl: string;
  log: (line: string) => void;
  /**
   * Where the demo listens for its alerts. Given, the story registers a webhook channel to it
   * with the api (PUT /api/v1/channels/{notifyChannel}), names it in the policy, narrates each
   * alert that arrives and checks that the ones the rollback sends did arrive.
   */
  alertPort?: number;
  /** That channel's name; default `demo`. */
  notifyChannel?: string;
  /** How long the story waits for its alerts after the analysis. Default 60. */
  alertWaitSeconds?: number;
  /** Requests per second of the load generator across the machines. */
  rps?: number;
  /** Prometheus' scrape interval: the guard's rate windows and the bake are sized from it. Default 5. */
  scrapeIntervalSeconds?: number;
}

/** A deployment as the api shows it, with where its workflow is. */
export type DeploymentView = Deployment;

export interface DemoOutcome {
  firstRelease: DeploymentView;
  secondRelease: DeploymentView;
  report: AnalysisReport | undefined;
  /** 1 when the report ranks the culprit pull request first; undefined when it is not named. */
  culpritRank: number | undefined;
  /** The alerts that arrived at the demo's channel, in order. */
  alerts: Alert[];
  /** Each alert the rollback should have sent that did not arrive, with what the deployment records. */
  missingAlerts: MissingAlert[];
}

export interface MissingAlert {
  kind: AlertKind;
  channel: string;
  /** `no rolled_back alert arrived at the demo's channel "demo"; the deployment records: …` */
  message: string;
}

export const defaultDemoChannel = 'demo';

/**
 * v1.1.0 carries four merged pull requests; only #103 breaks anything: every payment goes to
 * a gateway that refuses it. Every call to /api/pay fails (payments are ~15% of the load), so
 * the error rate of the gray machine settles near 0.15, clearly above the policy's 0.1 where
 * a rate of 0.5 would sit below it.
 */
export const demoVersions: DemoVersion[] = [
  { tag: 'v1.0.0' },
  {
    tag: 'v1.1.0',
    pullRequests: [
      {
        number: 101,
        title: 'Docs: how to run the shop locally',
        author: 'dave',
        files: { 'docs/running.md': '# Running the shop\n\n`node main.js --port 4001`\n' },
      },
      {
        number: 102,
        title: 'Orders: paginate the order list',
        author: 'carol',
        files: {
          'src/orders/paginate.ts':
            'export function paginate<T>(items: T[], page: number, size = 20): T[] {\n  return items.slice(page * size, (page + 1) * size);\n}\n',
        },
      },
      {
        number: 104,
        title: 'Bump pino from 9.4.0 to 9.5.0',
        author: 'dependabot',
        files: { 'package.json': '{ "type": "module", "dependencies": { "pino": "^9.5.0" } }\n' },
      },
      {
        number: culpritNumber,
        title: 'Payments: call the new gateway directly',
        body: 'Skips the payment proxy: /api/pay talks to the new gateway itself.',
        author: 'alice',
        files: {
          'src/payments/gateway.ts':
            "export const gatewayUrl = 'https://gateway.payments.internal/v2/charge';\n\nexport async function pay(orderId: string, amountCents: number): Promise<Response> {\n  return await fetch(gatewayUrl, {\n    method: 'POST',\n    body: JSON.stringify({ order_id: orderId, amount_cents: amountCents }),\n  });\n}\n",
          'mockserver.config.json': `${JSON.stringify(
            {
              faults: [
                {
                  type: 'error',
                  params: { rate: 1, status: 502, routes: ['/api/pay'] },
                  duration: '1h',
                },
              ],
            },
            null,
            2,
          )}\n`,
        },
      },
    ],
  },
];

/**
 * The demo against a running api: a release that goes well, then one whose gray machine goes
 * bad, is rolled back by the metric guard and explained by the analysis. Narrates each event
 * with the time since the start, then where to look. The machines stay up, on v1.0.0.
 */
export async function runDemoStory(options: DemoOptions): Promise<DemoOutcome> {
  const startedAt = Date.now();
  const say = (line: string) =>
    options.log(`+${((Date.now() - startedAt) / 1000).toFixed(1)}s ${line}`);
  const api = createApiClient({ baseUrl: options.apiUrl, token: options.token });
  const alerts: Alert[] = [];
  const channel =
    options.alertPort === undefined ? undefined : (options.notifyChannel ?? defaultDemoChannel);
  const receiver =
    options.alertPort === undefined
      ? undefined
      : await listenForAlerts(options.alertPort, (alert) => {
          alerts.push(alert);
          say(`alert ${alert.kind} arrived: ${alert.title}`);
          for (const link of alert.links) options.log(`    ${link.label}: ${link.url}`);
        });

  const load = new AbortController();
  let loadDone: Promise<unknown> | undefined;
  try {
    say('creating the demo repository: v1.0.0, then v1.1.0 with 4 merged pull requests');
    const repo = await createDemoRepo(demoVersions, path.join(options.workDir, 'repos'));
    if (channel !== undefined && options.alertPort !== undefined) {
      // Registered with the api, which the worker reads at each alert: it works whether the
      // stack was started for the demo or long before it.
      const url = await registerChannel(api, channel, options.alertPort);
      say(`alert channel ${channel}: a webhook to ${url}, where the demo listens`);
    }
    const app = await prepareApplication(api, options, repo, channel);
    say(`application ${app.name} (${app.id}) on ${app.machines.length} local machines`);

    loadDone = runLoad({
      targets: app.machines.map((machine) => `http://${machine.host}:${machine.port}`),
      rps: options.rps ?? 80,
      signal: load.signal,
      timeoutMs: 2000,
    });
    say(`load generator started: ${options.rps ?? 80} requests/s over the machines`);

    const firstRelease = await release(api, app, 'v1.0.0', say);
    if (firstRelease.status !== 'succeeded') {
      throw new Error(`v1.0.0 ended ${firstRelease.status}: ${firstRelease.reason ?? ''}`);
    }
    const secondRelease = await release(api, app, 'v1.1.0', say);

    let report: AnalysisReport | undefined;
    if (secondRelease.status === 'rolled_back') {
      say('waiting for the analysis report');
      report = await waitForReport(api, secondRelease.id, 90);
    }
    let culpritRank: number | undefined;
    if (report === undefined) say('no analysis report');
    else {
      const suspect = report.suspect_changes[0];
      say(
        `analysis (${report.analyzer}): fault class ${report.fault_class}; ` +
          (suspect === undefined
            ? 'no suspect named'
            : `culprit #${suspect.number ?? '?'} ${suspect.title}${suspect.author ? ` by ${suspect.author}` : ''} (score ${suspect.score.toFixed(2)})`),
      );
      say(`root cause: ${report.root_cause}`);
      const index = report.suspect_changes.findIndex((change) => change.number === culpritNumber);
      culpritRank = index === -1 ? undefined : index + 1;
    }
    const missingAlerts =
      channel === undefined
        ? []
        : await checkAlerts(api, {
            deploymentId: secondRelease.id,
            expected: expectedAlerts(secondRelease.status, app.rollback_policy).filter(
              (target) => target.channel === channel,
            ),
            alerts,
            waitSeconds: options.alertWaitSeconds ?? 60,
            say,
          });

    printLinks(options, firstRelease, secondRelease);
    return { firstRelease, secondRelease, report, culpritRank, alerts, missingAlerts };
  } finally {
    load.abort();
    await loadDone?.catch(() => undefined);
    if (receiver !== undefined) await new Promise((resolve) => receiver.close(resolve));
  }
}

/**
 * A fresh `shop-demo`, or the one of an earlier run with its machines (they may still run
 * v1.0.0 from it) and the new repository; refused while a release of it runs.
 */
async function prepareApplication(
  api: ApiClient,
  options: DemoOptions,
  repo: string,
  channel: string | undefined,
): Promise<Application> {
  // A rate needs two samples in its window; the guard two evaluations past the first scrapes
  // of the gray machine: both follow from the scrape interval (1 s in the tests, 5 s locally).
  const scrape = options.scrapeIntervalSeconds ?? 5;
  const window = `[${Math.max(5, 4 * scrape)}s]`;
  const settings = {
    repo,
    start_cmd: 'node main.js',
    pacer: { batch_size: 1, gray_bake_seconds: Math.max(20, 12 * scrape), interval_seconds: 1 },
    rollback_policy: {
      interval_seconds: 3,
      consecutive_breaches: 2,
      // The watch after the last batch: a few scrapes, not the default minute (v1.0.0 is sound).
      verify_seconds: Math.max(12, 6 * scrape),
      rules: [
        {
          name: 'error rate above 10%',
          metric: 'error_rate',
          threshold: 0.1,
          min_request_rate: 1,
        },
      ],
      notify: channel === undefined ? [] : [channel],
    },
    // Short windows: the demo's guard must see the gray machine within a few scrapes.
    red_metrics_config: {
      rate: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}"}${window}))`,
      errors: `sum(rate(http_requests_total{app="{{app}}",version="{{version}}",instance=~"{{instances}}",status=~"5.."}${window}))`,
      duration: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",version="{{version}}"}${window})))`,
    },
  } satisfies ApplicationUpdate;
  const { items } = body(await api.GET('/api/v1/applications'));
  const existing = items.find((item) => item.name === demoAppName);
  if (existing !== undefined) {
    if (existing.active_deployment_id !== undefined) {
      throw new Error(
        `a release of ${demoAppName} runs (${existing.active_deployment_id}); wait for it or roll it back`,
      );
    }
    return body(
      await api.PUT('/api/v1/applications/{id}', {
        params: { path: { id: existing.id } },
        body: settings,
      }),
    );
  }
  const deployPath = path.join(options.workDir, 'machines');
  await mkdir(deployPath, { recursive: true });
  const machines = [];
  for (let i = 1; i <= 4; i++) {
    machines.push({ id: `m${i}`, host: '127.0.0.1', port: await freePort() });
  }
  return body(
    await api.POST('/api/v1/applications', {
      body: { name: demoAppName, deploy_path: deployPath, machines, ...settings },
    }),
  );
}

/** Starts a release of `version` and narrates it until it ends. */
async function release(
  api: ApiClient,
  app: Application,
  version: string,
  say: (line: string) => void,
): Promise<DeploymentView> {
  const started = body(
    await api.POST('/api/v1/deployments', { body: { app_id: app.id, package_version: version } }),
  );
  say(`releasing ${version}: deployment ${started.id}, workflow ${started.workflow_id}`);
  const machineStates = new Map<string, string>();
  let status: DeploymentStatus | undefined;
  const deadline = Date.now() + 300_000;
  for (;;) {
    const deployment = body(
      await api.GET('/api/v1/deployments/{id}', { params: { path: { id: started.id } } }),
    );
    const changed = deployment.status !== status && deployment.status !== 'pending';
    if (changed) status = deployment.status;
    // A phase before the machines that moved in it; the end after them.
    if (changed && !isTerminal(deployment.status)) say(statusLine(version, deployment));
    for (const node of deployment.node_deployments) {
      if (machineStates.get(node.machine_id) === node.status || node.status === 'pending') continue;
      machineStates.set(node.machine_id, node.status);
      const role = node.batch === 0 ? 'gray machine' : `batch ${node.batch} machine`;
      say(`${version} ${role} ${node.machine_id} ${node.status.replace('_', ' ')}`);
    }
    if (changed && isTerminal(deployment.status)) say(statusLine(version, deployment));
    if (isTerminal(deployment.status)) return deployment;
    if (Date.now() > deadline) throw new Error(`${version} still ${deployment.status} after 5 min`);
    await delay(500);
  }
}

function statusLine(version: string, deployment: DeploymentView): string {
  const rollback = deployment.rollback;
  const failing = rollback?.failing?.[0];
  if (deployment.status === 'rolled_back' && rollback?.requested_by === 'metric-guard' && failing) {
    const value = failing.value?.toFixed(2) ?? '?';
    return `the metric guard rolled ${version} back: ${failing.rule}: ${failing.metric} ${value} ${failing.operator} ${failing.threshold}`;
  }
  const reason = deployment.reason === undefined ? '' : `: ${deployment.reason}`;
  return `${version} ${deployment.status.replace('_', ' ')}${reason}`;
}

async function waitForReport(
  api: ApiClient,
  deploymentId: string,
  seconds: number,
): Promise<AnalysisReport | undefined> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return body(
        await api.GET('/api/v1/deployments/{id}/analysis', {
          params: { path: { id: deploymentId } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    if (Date.now() > deadline) return undefined;
    await delay(1000);
  }
}

function printLinks(options: DemoOptions, first: DeploymentView, second: DeploymentView): void {
  const ui = `${options.temporalUiUrl}/namespaces/default/workflows`;
  const lines = [
    '',
    'Open:',
    `  release v1.0.0 workflow  ${ui}/${first.workflow_id}`,
    `  release v1.1.0 workflow  ${ui}/${second.workflow_id}`,
    `  metric guard workflow    ${ui}/${second.workflow_id}-guard`,
    `  analysis workflow        ${ui}/${analysisWorkflowId(second.id)}`,
    `  deployment               ${options.apiUrl}/api/v1/deployments/${second.id}`,
    `  report                   ${options.apiUrl}/api/v1/deployments/${second.id}/analysis?format=markdown`,
    '  (the api asks for the token in .relguard/token: curl -H "authorization: Bearer $(cat .relguard/token)")',
    '',
    'Look further:',
    `  npm run -s relguard -- release status ${second.id}`,
    `  npm run -s relguard -- analysis show ${second.id} --markdown`,
  ];
  for (const line of lines) options.log(line);
}

/** Points the channel `name` at the demo's receiver (an admin's PUT); returns its URL. */
async function registerChannel(api: ApiClient, name: string, port: number): Promise<string> {
  const url = `http://127.0.0.1:${port}/alerts`;
  try {
    await api.PUT('/api/v1/channels/{name}', {
      params: { path: { name } },
      body: { type: 'webhook', url },
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`could not register the demo's alert channel ${name}: ${why}`, {
      cause: error,
    });
  }
  return url;
}

/**
 * Waits (at most `waitSeconds`) for each expected alert to arrive at the demo's receiver, and
 * names each that did not with where the deployment says its delivery stands. Stops waiting
 * early once every missing one has settled elsewhere: given up on, or taken by another URL.
 */
async function checkAlerts(
  api: ApiClient,
  check: {
    deploymentId: string;
    expected: { kind: AlertKind; channel: string }[];
    alerts: Alert[];
    waitSeconds: number;
    say: (line: string) => void;
  },
): Promise<MissingAlert[]> {
  const arrived = (kind: AlertKind) =>
    check.alerts.some((alert) => alert.kind === kind && alert.deployment_id === check.deploymentId);
  const missing = () => check.expected.filter((target) => !arrived(target.kind));
  if (missing().length === 0) return [];
  check.say(
    `waiting for the ${missing()
      .map((target) => target.kind)
      .join(' and ')} alert(s)`,
  );
  const deadline = Date.now() + check.waitSeconds * 1000;
  let deliveries: NonNullable<Deployment['alert_deliveries']> = [];
  for (;;) {
    const deployment = body(
      await api.GET('/api/v1/deployments/{id}', { params: { path: { id: check.deploymentId } } }),
    );
    deliveries = latestDeliveries(deployment.alert_deliveries);
    const left = missing();
    if (left.length === 0) return [];
    const settled = left.every((target) =>
      deliveries.some(
        (entry) =>
          entry.kind === target.kind &&
          entry.channel === target.channel &&
          entry.status !== 'retrying',
      ),
    );
    if (settled || Date.now() > deadline) break;
    await delay(500);
  }
  return missing().map(({ kind, channel }) => {
    const entry = deliveries.find((item) => item.kind === kind && item.channel === channel);
    const record =
      entry === undefined
        ? 'no delivery of it'
        : `${channel} ${entry.status}${entry.error === undefined ? '' : `: ${entry.error}`} (attempt ${entry.attempt})`;
    return {
      kind,
      channel,
      message: `no ${kind} alert arrived at the demo's channel "${channel}"; the deployment records: ${record}`,
    };
  });
}

/** A webhook receiver for the notify channel: every POST body is one `{alert}`. */
async function listenForAlerts(port: number, onAlert: (alert: Alert) => void) {
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        onAlert((JSON.parse(body) as { alert: Alert }).alert);
        response.writeHead(200).end('ok');
      } catch {
        response.writeHead(400).end('not an alert');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `the demo listens for its alerts on 127.0.0.1:${port}, which another process holds: set DEMO_ALERT_PORT to a free port`,
            )
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', resolve);
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('alerts not on their port');
  return server;
}
