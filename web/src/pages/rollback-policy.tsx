import { formatValue, ruleUnit } from '../format';
import type { Application } from '../types';

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** The metric guard's policy: when it looks, what it compares, and what it does. */
export function RollbackPolicyView({ policy }: { policy: Application['rollback_policy'] }) {
  return (
    <section data-testid="rollback-policy">
      <h2>Rollback policy</h2>
      <dl class="facts">
        <dt>guard</dt>
        <dd>{policy.enabled ? 'on' : 'off'}</dd>
        <dt>on a breach</dt>
        <dd>{policy.auto_rollback ? 'roll back' : 'pause and alert'}</dd>
        <dt>every</dt>
        <dd>{policy.interval_seconds} s</dd>
        <dt>breaches in a row</dt>
        <dd>{policy.consecutive_breaches}</dd>
        <dt>no data</dt>
        <dd>{policy.no_data}</dd>
        <dt>AI analysis</dt>
        <dd>{yesNo(policy.ai_analysis)}</dd>
        <dt>notify</dt>
        <dd>{policy.notify.length === 0 ? '—' : policy.notify.join(', ')}</dd>
      </dl>
      <table>
        <thead>
          <tr>
            <th>rule</th>
            <th>metric</th>
            <th>fails when</th>
            <th>floor</th>
            <th>min req/s</th>
          </tr>
        </thead>
        <tbody>
          {policy.rules.map((rule) => {
            const unit = rule.relative_to_baseline ? '' : ruleUnit(rule.metric);
            const limit = formatValue(rule.threshold, unit);
            return (
              <tr key={rule.name}>
                <td>{rule.name}</td>
                <td>{rule.metric}</td>
                <td>
                  {rule.operator} {rule.relative_to_baseline ? `${limit} × the old version` : limit}
                </td>
                <td>
                  {rule.floor === undefined ? '—' : formatValue(rule.floor, ruleUnit(rule.metric))}
                </td>
                <td>{rule.min_request_rate ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** How a release moves through the machines. */
export function PacerView({ pacer }: { pacer: Application['pacer'] }) {
  const batches =
    pacer.batches !== undefined
      ? pacer.batches.map((percent) => `${percent}%`).join(', ')
      : `${pacer.batch_size ?? 1} machine(s) each`;
  return (
    <section data-testid="pacer">
      <h2>Pacer</h2>
      <dl class="facts">
        <dt>batches</dt>
        <dd>{batches}</dd>
        <dt>gray bake</dt>
        <dd>{pacer.gray_bake_seconds} s</dd>
        <dt>between batches</dt>
        <dd>{pacer.interval_seconds} s</dd>
        <dt>manual approval</dt>
        <dd>{yesNo(pacer.manual_approval)}</dd>
        <dt>in parallel</dt>
        <dd>{pacer.max_parallel ?? 'the whole batch'}</dd>
      </dl>
    </section>
  );
}
