import { api, body, enc } from '../api';
import { ErrorBox } from '../components/error-box';
import { Status } from '../components/status';
import { formatAgo, formatTime } from '../format';
import { unknownCount } from '../../../domain/fleet-health';
import { useResource } from '../resource';
import { Link } from '../router';
import type { Application, Deployment, Role } from '../types';
import { MachineHistory } from './machine-history';
import { RedCharts } from './red-charts';
import { PacerView, RollbackPolicyView } from './rollback-policy';
import { StartRelease } from './start-release';

interface Loaded {
  app: Application;
  releases: Deployment[];
}

/**
 * One application: its machines (each one's status, why and since when) and their history,
 * policy, pacer, releases and RED metrics; start a release.
 */
export function ApplicationPage({ id, role }: { id: string; role: Role }) {
  const loaded = useResource(
    async (signal): Promise<Loaded> => {
      const [app, releases] = await Promise.all([
        api.GET('/api/v1/applications/{id}', { params: { path: { id } }, signal }).then(body),
        api
          .GET('/api/v1/deployments', { params: { query: { app_id: id, limit: 20 } }, signal })
          .then(body),
      ]);
      return { app, releases: releases.items };
    },
    [id],
    { intervalMs: 5000 },
  );
  if (loaded.data === undefined) {
    return (
      <main>
        <ErrorBox error={loaded.error} />
        {loaded.loading && <p class="muted">loading…</p>}
      </main>
    );
  }
  const { app, releases } = loaded.data;
  return (
    <main>
      <p class="crumbs">
        <Link to="/">Applications</Link> /
      </p>
      <h1 data-testid="application-name">{app.name}</h1>
      <ErrorBox error={loaded.error} />
      <dl class="facts">
        <dt>current</dt>
        <dd class="version">{app.currentVersion}</dd>
        <dt>previous</dt>
        <dd class="version">{app.prev_version}</dd>
        <dt>platform</dt>
        <dd>{app.deployment_platform}</dd>
        <dt>repo</dt>
        <dd>{app.repo === '' ? 'packages uploaded by CI' : <code>{app.repo}</code>}</dd>
        <dt>machines</dt>
        <dd data-testid="machine-counts">
          {app.machine_count}: {app.health_count} healthy, {app.error_count} error,{' '}
          {app.alert_count} alert, {unknownCount(app)} unknown
        </dd>
        <dt>health check</dt>
        <dd>
          <code>{app.health_check.path}</code> every {app.health.interval_seconds} s; error after{' '}
          {app.health.failures_before_error} failed check(s) in a row
        </dd>
      </dl>

      {role !== 'viewer' && <StartRelease app={app} />}

      <RedCharts appId={app.id} />

      <section>
        <h2>Machines</h2>
        <table>
          <thead>
            <tr>
              <th>machine</th>
              <th>address</th>
              <th>version</th>
              <th>status</th>
              <th>since</th>
              <th>why</th>
            </tr>
          </thead>
          <tbody>
            {app.machines.map((machine) => (
              <tr key={machine.id} data-testid="machine-row" data-machine={machine.id}>
                <td>{machine.name ?? machine.id}</td>
                <td>
                  <code>
                    {machine.host}:{machine.port}
                  </code>
                </td>
                <td class="version" data-testid="machine-version">
                  {machine.version}
                </td>
                <td>
                  <Status value={machine.status} testid="machine-status" />
                </td>
                <td title={formatTime(machine.status_since)} data-testid="machine-since">
                  {formatAgo(machine.status_since)}
                </td>
                <td data-testid="machine-reason">{machine.status_reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <MachineHistory appId={app.id} machineIds={app.machines.map((machine) => machine.id)} />

      <section>
        <h2>Releases</h2>
        {releases.length === 0 ? (
          <p class="muted">No release yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>release</th>
                <th>version</th>
                <th>from</th>
                <th>status</th>
                <th>started</th>
                <th>by</th>
              </tr>
            </thead>
            <tbody>
              {releases.map((release) => (
                <tr key={release.id} data-testid="release-row" data-deployment={release.id}>
                  <td>
                    <Link to={`/releases/${enc(release.id)}`}>
                      <code>{release.id}</code>
                    </Link>
                  </td>
                  <td>{release.package_version}</td>
                  <td class="version">{release.previous_version}</td>
                  <td>
                    <Status value={release.status} testid="release-status" />
                  </td>
                  <td title={formatTime(release.createdTime)}>{formatAgo(release.createdTime)}</td>
                  <td>{release.actions?.[0]?.by ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <div class="columns">
        <RollbackPolicyView policy={app.rollback_policy} />
        <PacerView pacer={app.pacer} />
      </div>
    </main>
  );
}
