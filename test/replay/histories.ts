import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { projectRoot } from '../support/tools';

export const historiesDir = path.join(projectRoot, 'test', 'replay', 'histories');

/** Every committed history, named by its file. */
export async function recordedHistories(): Promise<HistoryAndWorkflowId[]> {
  const files = (await readdir(historiesDir)).filter((file) => file.endsWith('.json')).sort();
  return await Promise.all(
    files.map(async (file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(await readFile(path.join(historiesDir, file), 'utf8'))),
    })),
  );
}
