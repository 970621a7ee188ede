import {
  awaitingAlerts as awaitingAlertsOf,
  expectedAlerts,
  givenUpDeliveries,
  latestDeliveries,
  targetKey,
  unsettledAlerts,
} from '../../../domain/alert-deliveries';
import { Status } from '../components/status';
import { formatTime } from '../format';
import type { AlertDelivery, Application, DeploymentView } from '../types';

/** The alerts a release still has to send or settle, as far as the page can tell. */
function pendingAlerts(deployment: DeploymentView, app: Application | undefined) {
  const expected = app === undefined ? [] : expectedAlerts(deployment.status, app.rollback_policy);
  return unsettledAlerts(deployment.alert_deliveries, expected);
}

/** Whether the release page keeps asking for the release (see domain/alert-deliveries). */
export function awaitingAlerts(deployment: DeploymentView, app: Application | undefined) {
  return awaitingAlertsOf(deployment, app?.rollback_policy, Date.now());
}

/**
 * Each alert relguard gave up delivering, as an error box: shown at the top of the release
 * page, where nobody misses it.
 */
export function AlertFailures({ deliveries }: { deliveries: AlertDelivery[] | undefined }) {
  const failed = givenUpDeliveries(deliveries);
  return (
    <>
      {failed.map((delivery) => (
        <p
          key={`${targetKey(delivery)}\u0000${delivery.at}`}
          class="error"
          role="alert"
          data-testid="alert-failed"
          data-kind={delivery.kind}
          data-channel={delivery.channel}
        >
          The <strong>{delivery.kind}</strong> alert was not delivered to channel{' '}
          <strong>{delivery.channel}</strong> ({delivery.attempt} attempt
          {delivery.attempt === 1 ? '' : 's'}): {delivery.error ?? 'no reason recorded'}
        </p>
      ))}
    </>
  );
}

/**
 * The release's alerts: for each (kind, channel) where its delivery stands (the newest
 * attempt), and the ones still expected. Nothing when none was sent nor is expected.
 */
export function AlertDeliveries({
  deployment,
  app,
}: {
  deployment: DeploymentView;
  app: Application | undefined;
}) {
  const latest = latestDeliveries(deployment.alert_deliveries);
  const waiting = awaitingAlerts(deployment, app)
    ? pendingAlerts(deployment, app).filter((target) => target.latest === undefined)
    : [];
  if (latest.length === 0 && waiting.length === 0) return null;
  return (
    <section data-testid="alert-deliveries">
      <h2>Alerts</h2>
      {latest.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Kind</th>
              <th>Channel</th>
              <th>Status</th>
              <th class="number">Attempts</th>
              <th>Reason</th>
              <th>Time</th>
            </tr>
          </thead>
          <tbody>
            {latest.map((delivery) => (
              <tr
                key={targetKey(delivery)}
                data-testid="alert-delivery"
                data-kind={delivery.kind}
                data-channel={delivery.channel}
                data-status={delivery.status}
              >
                <td>{delivery.kind}</td>
                <td>{delivery.channel}</td>
                <td>
                  <Status value={delivery.status} />
                </td>
                <td class="number">{delivery.attempt}</td>
                <td>{delivery.error ?? '—'}</td>
                <td>{formatTime(delivery.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {waiting.length > 0 && (
        <p class="muted" data-testid="alert-waiting">
          Waiting for{' '}
          {waiting.map((target) => `the ${target.kind} alert to ${target.channel}`).join(', ')}.
        </p>
      )}
    </section>
  );
}
