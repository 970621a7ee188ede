import { useState } from 'preact/hooks';
import { api, body } from '../api';
import { ErrorBox } from '../components/error-box';
import { Status } from '../components/status';
import { formatAgo, formatTime } from '../format';
import { useResource } from '../resource';

/** Enough changes to see a machine flap; the api keeps them all. */
const historyLimit = 50;

/**
 * Every change of the machines' statuses, newest first, as the health watcher and releases
 * recorded it; one machine's alone when it is chosen.
 */
export function MachineHistory({ appId, machineIds }: { appId: string; machineIds: string[] }) {
  const [machine, setMachine] = useState('');
  const events = useResource(
    (signal) =>
      api
        .GET('/api/v1/applications/{id}/machine-events', {
          params: {
            path: { id: appId },
            query: { limit: historyLimit, ...(machine === '' ? {} : { machine }) },
          },
          signal,
        })
        .then(body),
    [appId, machine],
    { intervalMs: 5000 },
  );
  return (
    <section data-testid="machine-history">
      <h2>Machine history</h2>
      <label class="filter">
        machine
        <select
          value={machine}
          data-testid="machine-history-filter"
          onChange={(event) => setMachine(event.currentTarget.value)}
        >
          <option value="">all machines</option>
          {machineIds.map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
        </select>
      </label>
      <ErrorBox error={events.error} />
      {events.data === undefined ? (
        events.loading && <p class="muted">loading…</p>
      ) : events.data.items.length === 0 ? (
        <p class="muted" data-testid="machine-history-empty">
          No status change recorded yet.
        </p>
      ) : (
        <table data-testid="machine-events">
          <thead>
            <tr>
              <th>when</th>
              <th>machine</th>
              <th>status</th>
              <th>version</th>
              <th>why</th>
            </tr>
          </thead>
          <tbody>
            {events.data.items.map((event) => (
              <tr key={event.id} data-testid="machine-event-row" data-machine={event.machine_id}>
                <td title={formatAgo(event.at)} data-testid="machine-event-at">
                  {formatTime(event.at)}
                </td>
                <td>{event.machine_id}</td>
                <td>
                  <Status value={event.status} testid="machine-event-status" />
                </td>
                <td class="version">{event.version}</td>
                <td data-testid="machine-event-reason">{event.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
