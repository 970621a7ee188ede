/**
 * The generated client as another team's tool would use it: list the applications, start a
 * release of one and follow it to its end. Type-checked with the rest (npm run typecheck), and
 * run against a real api by test/cli/cli-api.test.ts:
 *
 *   RELGUARD_API_URL=http://127.0.0.1:3000 RELGUARD_TOKEN=rg_… \
 *     node --import tsx client/example.ts shop v1.2.0
 *
 * Exits 0 when the release succeeded, 1 when it did not or the api refused.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createRelguardClient, type Deployment, type ErrorEnvelope, type RelguardClient } from '.';

const ended: Deployment['status'][] = ['succeeded', 'failed', 'rolled_back', 'cancelled'];

/** The api's own words for a refusal: `404 not_found: no application …`. */
function refusal(response: Response, error: ErrorEnvelope | undefined): Error {
  const said =
    error === undefined ? response.statusText : `${error.error.code}: ${error.error.message}`;
  return new Error(`${response.status} ${said}`);
}

export async function releaseAndFollow(
  relguard: RelguardClient,
  appName: string,
  version: string,
  log: (line: string) => void,
): Promise<Deployment> {
  const apps = await relguard.GET('/api/v1/applications');
  if (apps.data === undefined) throw refusal(apps.response, apps.error);
  for (const app of apps.data.items) {
    log(`${app.name}: ${app.currentVersion || 'nothing'} on ${app.machine_count} machine(s)`);
  }
  const app = apps.data.items.find((candidate) => candidate.name === appName);
  if (app === undefined) throw new Error(`no application named ${appName}`);

  // 202 with the deployment; 409 names the release that holds the application's slot.
  const started = await relguard.POST('/api/v1/deployments', {
    body: { app_id: app.id, package_version: version, requested_by: 'client example' },
  });
  if (started.data === undefined) throw refusal(started.response, started.error);
  log(`release ${started.data.id} started: ${started.data.workflow_url}`);

  for (;;) {
    const { data, error, response } = await relguard.GET('/api/v1/deployments/{id}', {
      params: { path: { id: started.data.id } },
    });
    if (data === undefined) throw refusal(response, error);
    if (ended.includes(data.status)) {
      log(
        `release ${data.id} ${data.status}${data.reason === undefined ? '' : `: ${data.reason}`}`,
      );
      return data;
    }
    log(`${data.status}: ${data.progress?.phase ?? ''}`);
    await delay(1000);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [appName, version] = process.argv.slice(2);
  if (appName === undefined || version === undefined) {
    console.error('usage: node --import tsx client/example.ts <app> <version>');
    process.exit(1);
  }
  const relguard = createRelguardClient({
    baseUrl: process.env.RELGUARD_API_URL ?? 'http://127.0.0.1:3000',
    token: process.env.RELGUARD_TOKEN,
  });
  try {
    const release = await releaseAndFollow(relguard, appName, version, (line) => console.log(line));
    process.exitCode = release.status === 'succeeded' ? 0 : 1;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
