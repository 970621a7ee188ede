/**
 * Records the histories that test/replay/replay.test.ts replays. Run it when a workflow
 * changes on purpose (and its old histories may no longer replay), and commit the result:
 *
 *   npx tsx test/replay/record-histories.ts
 *
 * Each scenario runs on a real dev server with the real worker and real storage.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createActivities } from '../../activities';
import { workerHealthWorkflow } from '../../workflows';
import { createWorker } from '../../worker/worker';
import { startTestStore } from '../support/mongo';
import { startDevServer, workflowBundle } from '../support/temporal';
import { historiesDir } from './histories';

const taskQueue = 'relguard-record';

const [temporal, testStore] = await Promise.all([startDevServer(), startTestStore()]);
try {
  const worker = await createWorker({
    connection: temporal.nativeConnection,
    namespace: 'default',
    taskQueue,
    activities: createActivities({ store: testStore.store }),
    workflowBundle: await workflowBundle(),
  });
  const scenarios: Record<string, () => Promise<unknown>> = {
    'worker-health': () =>
      temporal.client.workflow.execute(workerHealthWorkflow, {
        taskQueue,
        workflowId: 'worker-health',
      }),
  };
  await mkdir(historiesDir, { recursive: true });
  await worker.runUntil(async () => {
    for (const [name, run] of Object.entries(scenarios)) {
      await run();
      const history = await temporal.client.workflow.getHandle(name).fetchHistory();
      const file = path.join(historiesDir, `${name}.json`);
      await writeFile(file, JSON.stringify(JSON.parse(historyToJSON(history)), null, 2) + '\n');
      console.log(`recorded ${file}`);
    }
  });
} finally {
  await testStore.close();
  await temporal.teardown();
}
