import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureIndexes, openStore, type Store } from '../../activities/db';
import { freePort } from './free-port';
import { restartable, startService, type RestartableService } from './service';
import { toolPaths } from './tools';

/** A FerretDB a test can stop and start again on the same port and data. */
export interface FerretDB extends RestartableService {
  uri: string;
  port: number;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A FerretDB of the test's own, on a free loopback port, its SQLite files in a temp folder. */
export async function startFerretDB(): Promise<FerretDB> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-ferretdb-'));
  const port = await freePort();
  const launch = () =>
    startService(
      'ferretdb',
      toolPaths().ferretdb,
      ['--listen-addr', `127.0.0.1:${port}`, '--data-dir', dataDir],
      () => tcpOpen(port),
    );
  return { uri: `mongodb://127.0.0.1:${port}/`, port, ...(await restartable(launch, dataDir)) };
}

export interface TestStore {
  store: Store;
  /** Where another process (a worker under test) reaches the same database. */
  uri: string;
  dbName: string;
  /** Stops the store and whatever server the test started for it. */
  close(): Promise<void>;
}

/**
 * Storage for a test: the MongoDB at MONGODB_URI when set (a database of the test's own,
 * dropped afterwards), else a FerretDB the test starts and stops. A test that stops its
 * database passes the FerretDB it controls, which is used whatever MONGODB_URI says.
 */
export async function startTestStore(options: { ferret?: FerretDB } = {}): Promise<TestStore> {
  const external = options.ferret === undefined ? process.env.MONGODB_URI : undefined;
  const ferret = options.ferret ?? (external ? undefined : await startFerretDB());
  const dbName = `relguard_test_${process.pid}_${Date.now()}`;
  const store = openStore({ uri: external ?? ferret!.uri, dbName, timeoutMs: 3000 });
  await ensureIndexes(store);
  return {
    store,
    uri: external ?? ferret!.uri,
    dbName,
    async close() {
      if (external) await store.db.dropDatabase();
      await store.close();
      await ferret?.dispose();
    },
  };
}
