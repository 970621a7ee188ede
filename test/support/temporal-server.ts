import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { relguardSearchAttributes } from '../../domain';
import { freePort } from './free-port';
import { restartable, startService, type RestartableService } from './service';
import { toolPaths } from './tools';

/** A Temporal dev server a test can stop and start again on the same port and database. */
export interface TemporalServer extends RestartableService {
  /** host:port of the frontend, the same across restarts. */
  address: string;
  /** A test environment connected to this server (its teardown leaves the server running). */
  environment(): Promise<TestWorkflowEnvironment>;
}

/** Answers once the server serves the default namespace, not merely accepts connections. */
async function servesDefaultNamespace(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } finally {
    await connection.close();
  }
}

/**
 * A Temporal dev server of the test's own that can be stopped and started again on the same
 * port and SQLite file (TestWorkflowEnvironment.createLocal cannot restart its server): for
 * tests of what a release does while Temporal is away. relguard's search attributes are
 * registered as startDevServer registers them.
 */
export async function startTemporalServer(): Promise<TemporalServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-temporal-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--db-filename',
    path.join(dataDir, 'temporal.db'),
    '--namespace',
    'default',
    '--log-format',
    'json',
    '--log-level',
    'error',
    ...relguardSearchAttributes.flatMap((attribute) => [
      '--search-attribute',
      `${attribute.name}=${TypedSearchAttributes.toMetadataType(attribute.type)}`,
    ]),
  ];
  const launch = () =>
    startService('temporal', toolPaths().temporal, args, () => servesDefaultNamespace(address), {
      timeoutMs: 60_000,
    });
  return {
    address,
    environment: () => TestWorkflowEnvironment.createFromExistingServer({ address }),
    ...(await restartable(launch, dataDir)),
  };
}
