import { runCli } from '../../cli/run';
import type { Application, Deployment } from '../../domain';
import type { Deployment as DeploymentView, MachineEvent } from '../../client';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

export type Answer = { status: number; body?: unknown; contentType?: string };
export type Route = (request: RecordedRequest) => Answer | undefined;

/**
 * A fetch that answers from routes in memory, like the api would, and records each request:
 * the CLI's unit tests run without a network.
 */
export function fakeApi(routes: Route[]) {
  const requests: RecordedRequest[] = [];
  // The CLI's client sends a Request (openapi-fetch); a URL and init are taken too.
  const fetchFake: typeof fetch = async (input, init) => {
    const sent = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(sent.url);
    const text = await sent.text();
    const json = sent.headers.get('content-type') === 'application/json' && text !== '';
    const request: RecordedRequest = {
      method: sent.method,
      path: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(sent.headers.entries()),
      ...(json ? { body: JSON.parse(text) as unknown } : {}),
    };
    requests.push(request);
    for (const route of routes) {
      const answer = route(request);
      if (answer === undefined) continue;
      const answerText =
        answer.body === undefined
          ? ''
          : typeof answer.body === 'string'
            ? answer.body
            : JSON.stringify(answer.body);
      return new Response(answerText, {
        status: answer.status,
        headers: { 'content-type': answer.contentType ?? 'application/json' },
      });
    }
    return new Response(JSON.stringify({ error: { code: 'not_found', message: 'no route' } }), {
      status: 404,
    });
  };
  return { fetch: fetchFake, requests };
}

export function on(method: string, path: string | RegExp, answer: Answer | (() => Answer)): Route {
  return (request) => {
    const matches =
      request.method === method &&
      (typeof path === 'string' ? request.path === path : path.test(request.path));
    if (!matches) return undefined;
    return typeof answer === 'function' ? answer() : answer;
  };
}

/** Runs the CLI in-process over a fake api; output is collected, sleeps are instant. */
export async function runWith(
  argv: string[],
  fetchFake: typeof fetch,
  options: { env?: Record<string, string>; tty?: boolean; columns?: number; stdin?: string } = {},
) {
  let stdout = '';
  let stderr = '';
  let clock = Date.UTC(2025, 0, 2, 3, 4, 5);
  const code = await runCli(argv, {
    env: { RELGUARD_API_URL: 'http://api.test', RELGUARD_TOKEN: 'rg_secret_token', ...options.env },
    cwd: '/',
    io: {
      stdout: {
        write: (text: string) => (stdout += text),
        ...(options.tty === true ? { isTTY: true } : {}),
        ...(options.columns === undefined ? {} : { columns: options.columns }),
      },
      stderr: { write: (text: string) => (stderr += text) },
      readStdin: () => Promise.resolve(options.stdin ?? ''),
    },
    fetch: fetchFake,
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
    now: () => clock,
  });
  return { code, stdout, stderr };
}

export const shopApp: Application = {
  id: '665f00000000000000000001',
  name: 'shop',
  repo: '/srv/git/shop.git',
  deployment_platform: 'local',
  deploy_path: '/srv/shop',
  config_path: '',
  start_cmd: 'node main.js',
  stop_cmd: '',
  machines: [
    { id: 'm1', host: '127.0.0.1', port: 4001, status: 'healthy', version: 'v1.0.0', labels: {} },
    { id: 'm2', host: '127.0.0.1', port: 4002, status: 'healthy', version: 'v1.0.0', labels: {} },
  ],
  up_stream_ids: [],
  down_stream_ids: [],
  rollback_policy: {
    enabled: true,
    auto_rollback: true,
    interval_seconds: 15,
    consecutive_breaches: 3,
    rules: [
      {
        name: 'error rate above 5%',
        metric: 'error_rate',
        operator: '>',
        threshold: 0.05,
        relative_to_baseline: false,
      },
    ],
    no_data: 'pause',
    notify: [],
    ai_analysis: true,
  },
  pacer: { batch_size: 1, interval_seconds: 30, gray_bake_seconds: 60, manual_approval: false },
  red_metrics_config: { rate: 'r', errors: 'e', duration: 'd', labels: {} },
  health_check: { path: '/healthz', timeout_seconds: 30 },
  health: { interval_seconds: 15, failures_before_error: 2 },
  auto_release: false,
  currentVersion: 'v1.0.0',
  prev_version: '',
  machine_count: 2,
  health_count: 2,
  error_count: 0,
  alert_count: 0,
  createdTime: 0,
  updatedTime: 0,
};

/** A deployment of shop v1.1.0 over m1 (gray) and m2, in the state given. */
export function deploymentView(
  status: Deployment['status'],
  nodes: [
    Deployment['node_deployments'][number]['status'],
    Deployment['node_deployments'][number]['status'],
  ],
  extra: Partial<DeploymentView> = {},
): DeploymentView {
  return {
    id: 'd1',
    app_name: 'shop',
    app_id: shopApp.id,
    status,
    package_version: 'v1.1.0',
    gray_machine_id: 'm1',
    platform: 'local',
    node_deployments: [
      { machine_id: 'm1', batch: 0, status: nodes[0], version: 'v1.1.0' },
      { machine_id: 'm2', batch: 1, status: nodes[1], version: 'v1.1.0' },
    ],
    previous_version: 'v1.0.0',
    createdTime: 0,
    updatedTime: 0,
    workflow_id: 'release-shop-d1',
    workflow_url: 'http://127.0.0.1:8233/namespaces/default/workflows/release-shop-d1',
    ...extra,
  };
}

/**
 * GET /api/v1/applications/{appId}/machine-events as the api answers it: the events of the
 * application, narrowed by `?machine=`, newest first, at most `?limit=` (default 200).
 */
export function machineEventsRoute(appId: string, events: MachineEvent[]): Route {
  return (request) => {
    const url = new URL(request.path, 'http://api.test');
    if (
      request.method !== 'GET' ||
      url.pathname !== `/api/v1/applications/${encodeURIComponent(appId)}/machine-events`
    ) {
      return undefined;
    }
    const machine = url.searchParams.get('machine');
    const limit = Number(url.searchParams.get('limit') ?? 200);
    const items = events
      .filter(
        (event) => event.app_id === appId && (machine === null || event.machine_id === machine),
      )
      .sort((a, b) => b.at - a.at)
      .slice(0, limit);
    return { status: 200, body: { items } };
  };
}
