import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureIndexes, openStore, type Store } from '../../activities/db';
import { createLogger } from '../../activities/logger';
import { createApp, type RelguardApp } from '../../api/app';
import { connectTemporal } from '../../api/temporal';
import { freePort } from '../support/free-port';
import { startFerretDB, type FerretDB } from '../support/mongo';
import { releasesNotUsedHere } from '../support/releases';
import { startDevServer } from '../support/temporal';

let temporal: TestWorkflowEnvironment;
let ferret: FerretDB;
let store: Store;
let app: RelguardApp;
let temporalConnection: ReturnType<typeof connectTemporal>;

beforeAll(async () => {
  [temporal, ferret] = await Promise.all([startDevServer(), startFerretDB()]);
  store = openStore({ uri: ferret.uri, dbName: 'relguard', timeoutMs: 1000 });
  await ensureIndexes(store);
  temporalConnection = connectTemporal(
    { TEMPORAL_ADDRESS: temporal.address },
    { timeoutMs: 2000, logger: createLogger('api', 'silent') },
  );
  app = createApp({
    store,
    temporal: temporalConnection.health,
    releases: releasesNotUsedHere,
    logger: createLogger('api', 'silent'),
  });
});
afterAll(async () => {
  await temporalConnection?.connection.close();
  await store?.close();
  await ferret?.dispose();
  await temporal?.teardown();
});

async function health() {
  const response = await app.request('/healthz');
  return { status: response.status, body: await response.json() };
}

describe('/healthz', () => {
  it('is 200 when Temporal and MongoDB both answer', async () => {
    expect(await health()).toEqual({
      status: 200,
      body: { status: 'ok', temporal: 'ok', mongo: 'ok' },
    });
  });

  it('is 503 naming MongoDB while it is down, and 200 again when it is back', async () => {
    await ferret.stop();
    expect(await health()).toEqual({
      status: 503,
      body: { status: 'error', temporal: 'ok', mongo: 'error' },
    });
    await ferret.restart();
    expect(await health()).toEqual({
      status: 200,
      body: { status: 'ok', temporal: 'ok', mongo: 'ok' },
    });
  });

  it('is 503 naming Temporal when nothing answers at its address', async () => {
    const nowhere = connectTemporal(
      { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` },
      { timeoutMs: 1000, logger: createLogger('api', 'silent') },
    );
    const appWithoutTemporal = createApp({
      store,
      temporal: nowhere.health,
      releases: releasesNotUsedHere,
      logger: createLogger('api', 'silent'),
    });
    const response = await appWithoutTemporal.request('/healthz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'error', temporal: 'error', mongo: 'ok' });
    await nowhere.connection.close();
  });
});
