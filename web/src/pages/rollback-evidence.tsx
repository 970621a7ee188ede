import { formatDuration, formatTime, formatValue, ruleUnit } from '../format';
import type { Deployment } from '../types';

/** Why the release was rolled back: who asked, why, and what the guard measured. */
export function RollbackEvidence({ rollback }: { rollback: NonNullable<Deployment['rollback']> }) {
  const failing = rollback.failing ?? [];
  return (
    <section class="evidence" data-testid="rollback-evidence">
      <h2>Rollback</h2>
      <dl class="facts">
        <dt>reason</dt>
        <dd>{rollback.reason}</dd>
        <dt>requested by</dt>
        <dd>{rollback.requested_by}</dd>
        {rollback.first_breach_at !== undefined && (
          <>
            <dt>first breach</dt>
            <dd>{formatTime(rollback.first_breach_at)}</dd>
          </>
        )}
        {rollback.detected_at !== undefined && (
          <>
            <dt>detected</dt>
            <dd>{formatTime(rollback.detected_at)}</dd>
          </>
        )}
        {rollback.requested_at !== undefined && (
          <>
            <dt>asked for</dt>
            <dd>
              {formatTime(rollback.requested_at)}
              {rollback.first_breach_at !== undefined &&
                ` (${formatDuration(rollback.requested_at - rollback.first_breach_at)} after the first breach)`}
            </dd>
          </>
        )}
      </dl>
      {failing.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>failing rule</th>
              <th>value</th>
              <th>limit</th>
              <th>verdict</th>
              <th>query</th>
            </tr>
          </thead>
          <tbody>
            {failing.map((result) => {
              const unit = ruleUnit(result.metric);
              return (
                <tr key={result.rule}>
                  <td>{result.message}</td>
                  <td>{formatValue(result.value, unit)}</td>
                  <td>
                    {result.operator}{' '}
                    {result.baseline_promql === undefined
                      ? formatValue(result.threshold, unit)
                      : `${result.threshold} × ${formatValue(result.baseline, unit)}`}
                  </td>
                  <td>
                    <span class={`verdict-word verdict-${result.verdict}`}>{result.verdict}</span>
                  </td>
                  <td>
                    <code class="promql">{result.promql}</code>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
