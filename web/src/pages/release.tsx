import { useRef } from 'preact/hooks';
import { api, body, enc, optional } from '../api';
import { ErrorBox } from '../components/error-box';
import { Status } from '../components/status';
import { formatAgo, formatTime, isTerminal } from '../format';
import { useResource } from '../resource';
import { Link } from '../router';
import type { Application, DeploymentView, GuardEvaluations, Role } from '../types';
import { AlertDeliveries, AlertFailures, awaitingAlerts } from './alert-deliveries';
import { AnalysisReportView } from './analysis-report';
import { Batches } from './batches';
import { GuardCharts } from './guard-charts';
import { ReleaseActions } from './release-actions';
import {
  chartBands,
  chartMarkers,
  ReleaseTimelineView,
  timeAxisOf,
  timelineOf,
} from './release-timeline';
import { RollbackEvidence } from './rollback-evidence';

/** How often a release (and a report still being written) is asked for again. */
const pollMs = 2000;

interface Live {
  deployment: DeploymentView;
  guard: GuardEvaluations;
}

/**
 * The live status of the release: polled until it ends, and after it while `keepWatching`
 * says so (its alerts are still on their way).
 */
function useRelease(id: string, keepWatching: (deployment: DeploymentView) => boolean) {
  return useResource(
    async (signal): Promise<Live> => {
      const [deployment, guard] = await Promise.all([
        api.GET('/api/v1/deployments/{id}', { params: { path: { id } }, signal }).then(body),
        api.GET('/api/v1/deployments/{id}/guard', { params: { path: { id } }, signal }).then(body),
      ]);
      return { deployment, guard };
    },
    [id],
    {
      intervalMs: pollMs,
      keepPolling: ({ deployment }) => !isTerminal(deployment.status) || keepWatching(deployment),
    },
  );
}

/**
 * The analysis report, once one exists. It is expected (and asked for until it comes) when
 * the release was rolled back and its application's policy has the AI analysis on.
 */
function useReport(deployment: DeploymentView | undefined, app: Application | undefined) {
  const status = deployment?.status;
  const expected =
    (status === 'rolled_back' || status === 'rolling_back') &&
    app?.rollback_policy.ai_analysis === true;
  const report = useResource(
    (signal) =>
      deployment === undefined
        ? Promise.resolve(undefined)
        : optional(
            api.GET('/api/v1/deployments/{id}/analysis', {
              params: { path: { id: deployment.id } },
              signal,
            }),
          ),
    [deployment?.id, status, expected],
    { intervalMs: pollMs, keepPolling: (found) => found === undefined && expected },
  );
  return { report, expected };
}

export function ReleasePage({ id, role }: { id: string; role: Role }) {
  // The application, for the alerts its policy sends: read when the release is polled again.
  const appRef = useRef<Application | undefined>(undefined);
  const live = useRelease(id, (deployment) => awaitingAlerts(deployment, appRef.current));
  const deployment = live.data?.deployment;
  const app = useResource(
    (signal) =>
      deployment === undefined
        ? Promise.resolve(undefined)
        : api
            .GET('/api/v1/applications/{id}', {
              params: { path: { id: deployment.app_id } },
              signal,
            })
            .then(body),
    [deployment?.app_id],
  );
  appRef.current = app.data;
  const { report, expected } = useReport(deployment, app.data);

  if (deployment === undefined || live.data === undefined) {
    return (
      <main>
        <ErrorBox error={live.error} />
        {live.loading && <p class="muted">loading…</p>}
      </main>
    );
  }
  // Drawn again at each poll: a running release's axis reaches to now.
  const timeline = timelineOf(deployment);
  const axis = timeAxisOf(timeline, live.data.guard.items, Date.now());
  const status = deployment.progress?.status ?? deployment.status;
  const phase = deployment.progress?.phase ?? deployment.status.replace('_', ' ');
  return (
    <main>
      <p class="crumbs">
        <Link to="/">Applications</Link> /{' '}
        <Link to={`/apps/${enc(deployment.app_id)}`}>{deployment.app_name}</Link> /
      </p>
      <h1>
        {deployment.app_name} {deployment.package_version}
        <span class="muted"> from {deployment.previous_version || 'nothing'}</span>
      </h1>
      <ErrorBox error={live.error} />
      <AlertFailures deliveries={deployment.alert_deliveries} />
      <div class="release-head">
        <Status value={status} testid="release-status" />
        <span class="phase" data-testid="release-phase">
          {phase}
        </span>
        {deployment.progress?.waitingUntil !== undefined && (
          <span class="muted">until {formatTime(deployment.progress.waitingUntil)}</span>
        )}
        <a
          data-testid="temporal-link"
          href={deployment.workflow_url}
          target="_blank"
          rel="noopener noreferrer"
        >
          workflow in the Temporal UI
        </a>
      </div>
      <dl class="facts">
        <dt>started</dt>
        <dd title={formatTime(deployment.createdTime)}>
          {formatAgo(deployment.createdTime)} by {deployment.actions?.[0]?.by ?? 'unknown'}
        </dd>
        <dt>gray machine</dt>
        <dd>{deployment.gray_machine_id}</dd>
        {deployment.reason !== undefined && (
          <>
            <dt>why it ended so</dt>
            <dd>{deployment.reason}</dd>
          </>
        )}
      </dl>

      <ReleaseActions deployment={deployment} role={role} onDone={live.reload} />

      <ReleaseTimelineView timeline={timeline} axis={axis} evaluations={live.data.guard.items} />

      <Batches deployment={deployment} />

      {deployment.rollback !== undefined && <RollbackEvidence rollback={deployment.rollback} />}

      <AlertDeliveries deployment={deployment} app={app.data} />

      <GuardCharts
        evaluations={live.data.guard.items}
        axis={axis}
        bands={chartBands(timeline)}
        markers={chartMarkers(timeline)}
      />

      <ErrorBox error={report.error} />
      {report.data !== undefined ? (
        <AnalysisReportView report={report.data} />
      ) : (
        expected &&
        !report.loading && (
          <section data-testid="analysis-pending">
            <h2>Analysis</h2>
            <p class="muted">
              The analysis of this rollback is running; its report appears here when written.
            </p>
          </section>
        )
      )}

      {(deployment.actions?.length ?? 0) > 0 && (
        <section>
          <h2>What people did</h2>
          <ul class="actions-log">
            {deployment.actions?.map((action) => (
              <li key={`${action.at}-${action.action}`}>
                {formatTime(action.at)} <strong>{action.action}</strong> by {action.by}
                {action.reason !== undefined && `: ${action.reason}`}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
