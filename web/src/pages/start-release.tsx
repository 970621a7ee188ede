import { useState } from 'preact/hooks';
import { api, body, enc } from '../api';
import { ErrorBox } from '../components/error-box';
import { formText } from '../form';
import { useResource } from '../resource';
import { navigate } from '../router';
import type { Application } from '../types';

/**
 * Starts a release of a packaged version, its gray machine chosen here (the first by
 * default), as POST /api/v1/deployments does; then shows the release.
 */
export function StartRelease({ app }: { app: Application }) {
  const packages = useResource(
    (signal) =>
      api
        .GET('/api/v1/applications/{id}/packages', { params: { path: { id: app.id } }, signal })
        .then(body),
    [app.id],
  );
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget;
    setBusy(true);
    setError(undefined);
    try {
      const deployment = body(
        await api.POST('/api/v1/deployments', {
          body: {
            app_id: app.id,
            package_version: formText(form, 'package_version'),
            gray_machine_id: formText(form, 'gray_machine_id'),
          },
        }),
      );
      navigate(`/releases/${enc(deployment.id)}`);
    } catch (failure) {
      setError(failure as Error);
      setBusy(false);
    }
  };

  const versions = packages.data?.items ?? [];
  const running = app.active_deployment_id !== undefined;
  return (
    <section>
      <h2>Start a release</h2>
      <form class="inline" data-testid="start-release" onSubmit={(event) => void submit(event)}>
        <label>
          version
          <select name="package_version" required disabled={versions.length === 0}>
            {versions.map((pkg) => (
              <option key={pkg.id} value={pkg.version}>
                {pkg.version}
                {pkg.version === app.currentVersion ? ' (current)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          gray machine
          <select name="gray_machine_id" required disabled={app.machines.length === 0}>
            {app.machines.map((machine) => (
              <option key={machine.id} value={machine.id}>
                {machine.id}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy || versions.length === 0 || app.machines.length === 0}>
          Start release
        </button>
        {running && <span class="muted">a release of {app.name} is running</span>}
      </form>
      {packages.data !== undefined && versions.length === 0 && (
        <p class="muted">
          No packages yet: build one with <code>relguard package build {app.name} &lt;tag&gt;</code>{' '}
          or upload one from CI.
        </p>
      )}
      <ErrorBox error={error ?? packages.error} />
    </section>
  );
}
