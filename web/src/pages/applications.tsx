import { api, body, enc } from '../api';
import { ErrorBox } from '../components/error-box';
import { Status } from '../components/status';
import { formatAgo } from '../format';
import { byHealth, unknownCount, worstStatus } from '../../../domain/fleet-health';
import { useResource } from '../resource';
import { Link } from '../router';
import type { Application, Deployment } from '../types';

interface Row {
  app: Application;
  last?: Deployment;
}

async function loadRows(signal: AbortSignal): Promise<Row[]> {
  const { items: apps } = body(await api.GET('/api/v1/applications', { signal }));
  return Promise.all(
    [...apps].sort(byHealth).map(async (app) => {
      const { items } = body(
        await api.GET('/api/v1/deployments', {
          params: { query: { app_id: app.id, limit: 1 } },
          signal,
        }),
      );
      return items[0] === undefined ? { app } : { app, last: items[0] };
    }),
  );
}

/**
 * Every application, those in trouble first (a machine in error, then alerting, then unknown):
 * versions, machines by status, and how its last release went.
 */
export function ApplicationsPage() {
  const rows = useResource(loadRows, [], { intervalMs: 10_000 });
  return (
    <main>
      <h1>Applications</h1>
      <ErrorBox error={rows.error} />
      {rows.data === undefined ? (
        rows.loading && <p class="muted">loading…</p>
      ) : rows.data.length === 0 ? (
        <p class="muted">
          No applications yet: create one with <code>relguard app create -f app.yaml</code>.
        </p>
      ) : (
        <table data-testid="applications">
          <thead>
            <tr>
              <th>application</th>
              <th>current</th>
              <th>previous</th>
              <th class="number">healthy</th>
              <th class="number">error</th>
              <th class="number">alert</th>
              <th class="number">unknown</th>
              <th class="number">machines</th>
              <th>last release</th>
            </tr>
          </thead>
          <tbody>
            {rows.data.map(({ app, last }) => {
              const health = worstStatus(app) ?? 'none';
              return (
                <tr
                  key={app.id}
                  data-testid="application-row"
                  data-app={app.name}
                  data-health={health}
                  class={`health-${health}`}
                >
                  <td>
                    <Link to={`/apps/${enc(app.id)}`} data-testid="application-link">
                      {app.name}
                    </Link>
                  </td>
                  <td class="version" data-testid="current-version">
                    {app.currentVersion}
                  </td>
                  <td class="version" data-testid="prev-version">
                    {app.prev_version}
                  </td>
                  <td class="number" data-testid="machines-healthy">
                    {app.health_count}
                  </td>
                  <td class="number" data-testid="machines-error">
                    {app.error_count}
                  </td>
                  <td class="number" data-testid="machines-alert">
                    {app.alert_count}
                  </td>
                  <td class="number" data-testid="machines-unknown">
                    {unknownCount(app)}
                  </td>
                  <td class="number">{app.machine_count}</td>
                  <td>
                    {last === undefined ? (
                      <span data-testid="last-release" class="muted">
                        none
                      </span>
                    ) : (
                      <>
                        <Link to={`/releases/${enc(last.id)}`}>
                          <Status value={last.status} testid="last-release" />
                        </Link>{' '}
                        <span class="muted">
                          {last.package_version} · {formatAgo(last.createdTime)}
                        </span>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}
