import { describe, expect, it } from 'vitest';
import {
  ApplicationInput,
  Deployment,
  isTerminal,
  machineCounts,
  PackageInfo,
  type Machine,
} from '../../domain';

const minimal = {
  name: 'shop',
  repo: 'https://github.com/acme/shop.git',
  deploy_path: '/srv/shop',
  start_cmd: 'node main.js',
};

/** The paths of the fields a parse names in its errors. */
function failingFields(input: unknown): string[] {
  const result = ApplicationInput.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

describe('ApplicationInput', () => {
  it('fills the design defaults into a minimal application', () => {
    const app = ApplicationInput.parse(minimal);
    expect(app.deployment_platform).toBe('local');
    expect(app.machines).toEqual([]);
    expect(app.pacer).toMatchObject({ interval_seconds: 60, manual_approval: false });
    expect(app.rollback_policy).toMatchObject({
      enabled: true,
      auto_rollback: true,
      consecutive_breaches: 3,
      no_data: 'pause',
      ai_analysis: true,
    });
    expect(app.rollback_policy.rules.map((rule) => rule.metric)).toEqual([
      'error_rate',
      'latency_p99',
    ]);
    expect(app.red_metrics_config.rate).toContain('{{app}}');
    expect(app.health_check).toEqual({ path: '/healthz', timeout_seconds: 30 });
  });

  it('keeps machine defaults apart from the values given', () => {
    const app = ApplicationInput.parse({
      ...minimal,
      machines: [{ id: 'm1', host: '127.0.0.1', port: 4001, labels: { zone: 'a' } }],
    });
    expect(app.machines[0]).toEqual({
      id: 'm1',
      host: '127.0.0.1',
      port: 4001,
      status: 'unknown',
      version: '',
      labels: { zone: 'a' },
    });
  });

  it.each([
    ['a name with capitals', { name: 'Shop' }, ['name']],
    ['a relative deploy path', { deploy_path: 'srv/shop' }, ['deploy_path']],
    ['an unknown platform', { deployment_platform: 'k8s' }, ['deployment_platform']],
    ['an unknown field', { replicas: 3 }, ['']],
    [
      'a machine port out of range',
      { machines: [{ id: 'm1', host: 'h', port: 70000 }] },
      ['machines.0.port'],
    ],
    [
      // A machine may not pose as another version or leave the scrape job: the target's
      // labels are relguard's (and Prometheus' reserved __ labels change what is scraped).
      'machine labels that claim relguard or Prometheus labels',
      {
        machines: [
          { id: 'm1', host: 'h', port: 1, labels: { version: 'v9', job: 'x', __address__: 'y' } },
        ],
      },
      ['machines.0.labels.version', 'machines.0.labels.job', 'machines.0.labels.__address__'],
    ],
    [
      'two machines with one id',
      {
        machines: [
          { id: 'm1', host: 'h', port: 1 },
          { id: 'm1', host: 'h', port: 2 },
        ],
      },
      ['machines.1.id'],
    ],
    [
      'ssh machines without ssh settings',
      { deployment_platform: 'ssh', machines: [{ id: 'm1', host: 'h', port: 1 }] },
      ['machines.0.ssh'],
    ],
    [
      'batch_size and batches at once',
      { pacer: { batch_size: 2, batches: [50, 100] } },
      ['pacer.batches'],
    ],
    ['batches that go down', { pacer: { batches: [50, 25, 100] } }, ['pacer.batches.1']],
    ['batches that stop short of 100', { pacer: { batches: [25, 50] } }, ['pacer.batches.1']],
    [
      'a custom rule without promql',
      { rollback_policy: { rules: [{ name: 'x', metric: 'custom', threshold: 1 }] } },
      ['rollback_policy.rules.0.promql'],
    ],
    [
      'an unknown no_data action',
      { rollback_policy: { no_data: 'retry' } },
      ['rollback_policy.no_data'],
    ],
    [
      'two machines at one address, which would answer for each other',
      {
        machines: [
          { id: 'm1', host: '10.0.0.1', port: 8080 },
          { id: 'm2', host: '10.0.0.2', port: 8080 },
          { id: 'm3', host: '10.0.0.1', port: 8080 },
        ],
      },
      ['machines.2.port'],
    ],
  ])('refuses %s and names the field', (_, change, fields) => {
    expect(failingFields({ ...minimal, ...change })).toEqual(fields);
  });

  it('names every missing required field', () => {
    expect(failingFields({})).toEqual(['name', 'deploy_path', 'start_cmd']);
  });
});

describe('machineCounts', () => {
  const machine = (id: string, status: Machine['status']): Machine => ({
    id,
    host: '127.0.0.1',
    port: 1,
    status,
    version: 'v1',
    labels: {},
  });

  it('counts machines by status', () => {
    expect(
      machineCounts([
        machine('a', 'healthy'),
        machine('b', 'healthy'),
        machine('c', 'error'),
        machine('d', 'alert'),
        machine('e', 'unknown'),
      ]),
    ).toEqual({ machine_count: 5, health_count: 2, error_count: 1, alert_count: 1 });
  });
});

describe('Deployment', () => {
  it('accepts the seed shape and refuses a bad MD5', () => {
    const deployment = {
      id: 'd1',
      app_name: 'shop',
      app_id: 'a1',
      status: 'pending',
      package_version: 'v1.0.0',
      gray_machine_id: 'm1',
      platform: 'local',
      package: { url: 'http://x/p.tar.gz', md5: 'a'.repeat(32), size: 10, created_at: 1 },
      node_deployments: [{ machine_id: 'm1', batch: 0, status: 'pending', version: 'v1.0.0' }],
      previous_version: 'v0.9.0',
      createdTime: 1,
      updatedTime: 1,
    };
    expect(Deployment.parse(deployment)).toEqual(deployment);
    const bad = PackageInfo.safeParse({ ...deployment.package, md5: 'not-an-md5' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['md5']);
  });

  it.each([
    ['succeeded', true],
    ['rolled_back', true],
    ['failed', true],
    ['cancelled', true],
    ['deploying', false],
    ['paused', false],
    ['rolling_back', false],
  ] as const)('%s is terminal: %s', (status, terminal) => {
    expect(isTerminal(status)).toBe(terminal);
  });
});
