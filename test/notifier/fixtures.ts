import type { Alert } from '../../domain/alert';
import { FailureType, RelguardError } from '../../domain/errors';
import type { RuleResult } from '../../domain/guard';

export function failingRule(overrides: Partial<RuleResult> = {}): RuleResult {
  return {
    rule: 'error-rate',
    metric: 'error_rate',
    promql:
      'sum(rate(http_requests_total{app="shop",version="v2.0.0",code=~"5.."}[1m])) / sum(rate(http_requests_total{app="shop",version="v2.0.0"}[1m]))',
    value: 0.3123456,
    operator: '>',
    threshold: 0.05,
    verdict: 'fail',
    message: 'error-rate 0.3123 > 0.05',
    ...overrides,
  };
}

export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    kind: 'rolled_back',
    title: 'shop v2.0.0 rolled back: error-rate 0.3123 > 0.05',
    app: 'shop',
    version: 'v2.0.0',
    previous_version: 'v1.9.0',
    deployment_id: 'dep-42',
    machines: ['web-1', 'web-2'],
    failing: [
      failingRule(),
      failingRule({
        rule: 'latency-p99',
        metric: 'latency_p99',
        promql:
          'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="shop"}[1m])))',
        value: 1.23456,
        operator: '>=',
        threshold: 0.8,
        message: 'latency-p99 1.235 >= 0.8',
      }),
    ],
    action: 'rolled back 2 machines to v1.9.0',
    links: [
      { label: 'Deployment', url: 'http://127.0.0.1:3000/deployments/dep-42' },
      { label: 'Grafana', url: 'https://grafana.example.com/d/shop?var-version=v2.0.0' },
    ],
    at: Date.UTC(2025, 0, 2, 3, 4, 5),
    ...overrides,
  };
}

/** An alert whose rules cannot all fit in any service's message. */
export function alertWithRules(count: number): Alert {
  return makeAlert({
    failing: Array.from({ length: count }, (_, index) =>
      failingRule({ rule: `rule-${index + 1}`, message: `rule-${index + 1} failed` }),
    ),
  });
}

/** The RelguardError the promise rejects with. */
export async function failureOf(promise: Promise<unknown>): Promise<RelguardError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RelguardError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

export { FailureType };
