import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureIndexes, openStore } from '../../activities/db';
import { loadConfig } from '../../domain/config';
import { startFerretDB, type FerretDB } from '../support/mongo';
import { makeTestPki, type TestPki } from '../support/test-certificates';
import { startTlsFront, type TlsFront } from '../support/tls-front';

/**
 * MongoDB over TLS needs no setting of relguard's own: the driver reads the TLS options of
 * MONGODB_URI (tls, tlsCAFile, tlsCertificateKeyFile). Proved against FerretDB behind a TLS
 * front that requires a client certificate of the test's CA, through the same openStore the
 * api and the worker use, with the URI as loadConfig reads it.
 */
let pki: TestPki;
let ferret: FerretDB;
let front: TlsFront;
/** The client certificate and its key in one PEM file, as tlsCertificateKeyFile wants them. */
let clientPem: string;

beforeAll(async () => {
  [pki, ferret] = await Promise.all([makeTestPki(), startFerretDB()]);
  front = await startTlsFront({
    upstream: { host: '127.0.0.1', port: ferret.port },
    cert: pki.server.cert,
    key: pki.server.key,
    clientCa: pki.ca.cert,
  });
  clientPem = path.join(pki.dir, 'worker-client.pem');
  const [cert, key] = await Promise.all([readFile(pki.client.cert), readFile(pki.client.key)]);
  await writeFile(clientPem, Buffer.concat([cert, key]), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await front?.close();
  await ferret?.dispose();
  await pki?.dispose();
});

/** The store a relguard process opens from MONGODB_URI. */
function storeAt(uri: string) {
  const config = loadConfig({ MONGODB_URI: uri, MONGODB_TIMEOUT_MS: '2000' });
  return openStore({
    uri: config.MONGODB_URI,
    dbName: 'relguard_tls',
    timeoutMs: config.MONGODB_TIMEOUT_MS,
  });
}

async function connectError(uri: string): Promise<string> {
  const store = storeAt(uri);
  try {
    await store.client.connect();
    return 'connected';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await store.close();
  }
}

describe('MONGODB_URI with TLS options', () => {
  it('connects with the CA and the client certificate the URI names, and works', async () => {
    const uri =
      `mongodb://127.0.0.1:${front.port}/?tls=true` +
      `&tlsCAFile=${encodeURIComponent(pki.ca.cert)}` +
      `&tlsCertificateKeyFile=${encodeURIComponent(clientPem)}`;
    const store = storeAt(uri);
    try {
      await ensureIndexes(store);
      expect(await store.ping()).toBe(true);
      await store.db.collection('tls_probe').insertOne({ through: 'tls' });
      expect(await store.db.collection('tls_probe').countDocuments({ through: 'tls' })).toBe(1);
    } finally {
      await store.close();
    }
    expect(front.clientSubjects).toContain('worker-client');
  });

  it('is refused without the client certificate', async () => {
    const refusalsBefore = front.refusals.length;
    const message = await connectError(
      `mongodb://127.0.0.1:${front.port}/?tls=true&tlsCAFile=${encodeURIComponent(pki.ca.cert)}`,
    );
    expect(message).not.toBe('connected');
    expect(front.refusals.length).toBeGreaterThan(refusalsBefore);
    expect(front.refusals.at(-1)).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
  });

  it('does not trust the server without the CA that signed its certificate', async () => {
    const message = await connectError(
      `mongodb://127.0.0.1:${front.port}/?tls=true` +
        `&tlsCertificateKeyFile=${encodeURIComponent(clientPem)}`,
    );
    expect(message).toMatch(/certificate/i);
  });

  it('gets nothing from a TLS server without tls=true', async () => {
    expect(await connectError(`mongodb://127.0.0.1:${front.port}/`)).not.toBe('connected');
  });
});
