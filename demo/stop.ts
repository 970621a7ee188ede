/**
 * `./temporal-dev.sh down`, before it stops the api: stops the demo application's machines
 * (processes on this host that the local platform started), so that down leaves nothing
 * running. Does nothing when the demo never ran or the api is not up.
 */
import { createLogger } from '../activities/logger';
import { LocalPlatform } from '../activities/platform';
import { body, createApiClient } from '../cli/api-client';
import { readStackToken, stackApiUrl } from './stack';
import { demoAppName } from './story';

const token = await readStackToken();
if (token !== undefined) {
  const client = createApiClient({
    baseUrl: stackApiUrl,
    token,
    timeoutMs: 5000,
  });
  const apps = await client
    .GET('/api/v1/applications')
    .then((answer) => body(answer).items)
    .catch(() => []);
  const demo = apps.find((app) => app.name === demoAppName);
  if (demo !== undefined && demo.deployment_platform === 'local') {
    const platform = new LocalPlatform({ releasesKept: 3, logger: createLogger('demo', 'silent') });
    await Promise.all(demo.machines.map((machine) => platform.stop({ app: demo, machine })));
    console.log(`stopped the ${demo.machines.length} machines of ${demo.name}`);
  }
}
