import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { temporalConnectionOptions } from '../../activities/temporal-connection';
import { connectTemporal } from '../../api/temporal';
import { loadConfig } from '../../domain/config';
import { workerHealthWorkflow } from '../../workflows';
import { startTestStore, type TestStore } from '../support/mongo';
import { startService } from '../support/service';
import { startTemporalServer, type TemporalServer } from '../support/temporal-server';
import { startTemporalTlsProxy, type TemporalTlsProxy } from '../support/temporal-tls-proxy';
import { makeTestPki, type TestPki } from '../support/test-certificates';
import { projectRoot } from '../support/tools';
import { kill, startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import { startTogether } from '../support/start-together';

/**
 * The api and the worker against a Temporal that requires TLS and a client certificate (mTLS),
 * as a production cluster does: a real dev server behind a TLS front that refuses any client
 * without a certificate of the test's CA, and records the `authorization` of every call. With
 * the right CA, client pair and API key, the real worker process runs a workflow the api's
 * connection starts; each wrong setting is refused with an error that says which and why.
 */
let pki: TestPki;
let temporal: TemporalServer;
let testStore: TestStore;
let proxy: TemporalTlsProxy;
let workDir: string;
const workers: WorkerProcess[] = [];
const apiKey = 'relguard-test-api-key-0123456789';

beforeAll(async () => {
  [pki, temporal, testStore, workDir] = await startTogether([
    makeTestPki(),
    startTemporalServer(),
    startTestStore(),
    mkdtemp(path.join(os.tmpdir(), 'relguard-temporal-tls-')),
  ]);
  proxy = await startTemporalTlsProxy({
    upstream: temporal.address,
    tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert },
  });
}, 180_000);

afterAll(async () => {
  for (const worker of workers) await kill(worker, 'SIGKILL');
  await proxy?.close();
  await temporal?.dispose();
  await testStore?.close();
  await pki?.dispose();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** The environment of a worker or api of this test: its own task queue and storage. */
function environment(temporalSettings: Record<string, string>, taskQueue: string) {
  return {
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    MONGODB_URI: testStore.uri,
    MONGODB_DB: testStore.dbName,
    PACKAGE_STORE: 'local',
    PACKAGE_DIR: path.join(workDir, 'packages'),
    PACKAGE_BASE_URL: 'http://127.0.0.1:1/packages',
    BUILD_DIR: path.join(workDir, 'builds'),
    LOG_LEVEL: 'info',
    ...temporalSettings,
  };
}

/** The api's connection (api/temporal.ts) from `env`, with what it logs. */
function apiConnection(env: Record<string, string>) {
  const lines: string[] = [];
  const logs = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const temporalOfApi = connectTemporal(loadConfig(env), {
    timeoutMs: 5000,
    logger: createLogger('api', 'info', logs),
  });
  return { ...temporalOfApi, logs: () => lines.join('') };
}

/** Starts worker/main.ts with `env` and waits until it says it cannot reach Temporal. */
async function workerThatCannotConnect(env: Record<string, string>) {
  const worker = await startService(
    'worker',
    process.execPath,
    ['--import', 'tsx', 'worker/main.ts'],
    (output) => Promise.resolve(output.includes('cannot be reached; trying again')),
    { timeoutMs: 60_000, cwd: projectRoot, env: { ...process.env, ...env }, detached: true },
  );
  const running = Object.assign(worker, { pid: worker.process.pid! });
  workers.push(running);
  const output = worker.output();
  await kill(running, 'SIGKILL');
  return output;
}

const mtls = () => ({
  TEMPORAL_TLS_CA_FILE: pki.ca.cert,
  TEMPORAL_TLS_CERT_FILE: pki.client.cert,
  TEMPORAL_TLS_KEY_FILE: pki.client.key,
});

describe('Temporal with TLS, a client certificate and an API key', () => {
  it('connects the worker and the api, runs a workflow, and sends the key on every call', async () => {
    const env = environment({ ...mtls(), TEMPORAL_API_KEY: apiKey }, 'relguard-tls');
    const worker = await startWorkerProcess(env);
    workers.push(worker);
    const api = apiConnection(env);
    try {
      expect(await api.health.check()).toBe(true);
      const client = new Client({ connection: api.connection });
      const report = await client.workflow.execute(workerHealthWorkflow, {
        taskQueue: 'relguard-tls',
        workflowId: `worker-health-tls-${Date.now()}`,
      });
      expect(report).toMatchObject({ taskQueue: 'relguard-tls', mongo: 'ok' });
    } finally {
      await api.connection.close();
    }
    // Both connected through the TLS front with the test CA's client certificate...
    expect(proxy.clientSubjects.length).toBeGreaterThanOrEqual(2);
    expect(new Set(proxy.clientSubjects)).toEqual(new Set(['worker-client']));
    // ...and every call, the worker's polls as the api's starts, carried the API key.
    expect(proxy.authorizations.length).toBeGreaterThan(3);
    expect(new Set(proxy.authorizations)).toEqual(new Set([`Bearer ${apiKey}`]));
    // The worker says how it connects, never with the key.
    expect(worker.output()).toContain('"tls":true');
    expect(worker.output()).toContain('"api_key":"set"');
    expect(worker.output()).not.toContain(apiKey);
  });

  it('is refused without a client certificate, saying the server requires one', async () => {
    const env = environment({ TEMPORAL_TLS_CA_FILE: pki.ca.cert }, 'relguard-tls-no-cert');
    const api = apiConnection(env);
    try {
      expect(await api.health.check()).toBe(false);
    } finally {
      await api.connection.close();
    }
    const required =
      'the server requires a client certificate (mTLS) and none was sent: ' +
      'set TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE';
    expect(api.logs()).toContain('Temporal cannot be reached');
    expect(api.logs()).toContain(`cannot connect to Temporal at ${proxy.address} (TLS`);
    expect(api.logs()).toContain(required);

    const output = await workerThatCannotConnect(env);
    expect(output).toContain(`Temporal at ${proxy.address} cannot be reached`);
    expect(output).toContain(required);
    expect(output).not.toContain('worker started');
  });

  it('does not trust a server whose certificate another CA signed, naming TEMPORAL_TLS_CA_FILE', async () => {
    const env = environment(
      { ...mtls(), TEMPORAL_TLS_CA_FILE: pki.otherCa.cert },
      'relguard-tls-wrong-ca',
    );
    const api = apiConnection(env);
    try {
      expect(await api.health.check()).toBe(false);
    } finally {
      await api.connection.close();
    }
    const untrusted = `the server's certificate is not trusted`;
    expect(api.logs()).toContain(untrusted);
    expect(api.logs()).toContain(`TEMPORAL_TLS_CA_FILE is ${pki.otherCa.cert}`);

    const output = await workerThatCannotConnect(env);
    expect(output).toContain(untrusted);
    expect(output).toContain(`TEMPORAL_TLS_CA_FILE is ${pki.otherCa.cert}`);
  });

  it('is refused with a client certificate of another CA, naming TEMPORAL_TLS_CERT_FILE', async () => {
    const api = apiConnection(
      environment(
        {
          TEMPORAL_TLS_CA_FILE: pki.ca.cert,
          TEMPORAL_TLS_CERT_FILE: pki.strangerClient.cert,
          TEMPORAL_TLS_KEY_FILE: pki.strangerClient.key,
        },
        'relguard-tls-stranger',
      ),
    );
    try {
      expect(await api.health.check()).toBe(false);
    } finally {
      await api.connection.close();
    }
    // Node's TLS server hangs up without an alert (a Go server such as Temporal's sends
    // bad_certificate, which says the same in other words).
    expect(api.logs()).toContain(
      `hung up right after the TLS handshake: it refused the client certificate in TEMPORAL_TLS_CERT_FILE (${pki.strangerClient.cert})`,
    );
  });

  it('checks the server name TEMPORAL_TLS_SERVER_NAME gives instead of the address', async () => {
    const right = apiConnection(
      environment({ ...mtls(), TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }, 'relguard-sni'),
    );
    const wrong = apiConnection(
      environment({ ...mtls(), TEMPORAL_TLS_SERVER_NAME: 'temporal.example.org' }, 'relguard-sni'),
    );
    try {
      expect(await right.health.check()).toBe(true);
      expect(await wrong.health.check()).toBe(false);
    } finally {
      await right.connection.close();
      await wrong.connection.close();
    }
    expect(wrong.logs()).toContain(`the server's certificate is not for temporal.example.org`);
  });

  it('sends the API key without TLS only when TEMPORAL_TLS=false says so, from the api and a worker connection', async () => {
    // A sidecar that terminates TLS on the same host: the key goes to it in plain text.
    const sidecar = await startTemporalTlsProxy({ upstream: temporal.address });
    try {
      const env = {
        TEMPORAL_ADDRESS: sidecar.address,
        TEMPORAL_TLS: 'false',
        TEMPORAL_API_KEY: apiKey,
      };
      const api = apiConnection(env);
      try {
        expect(await api.health.check()).toBe(true);
      } finally {
        await api.connection.close();
      }
      expect(api.logs()).toContain('TEMPORAL_API_KEY is sent without TLS (TEMPORAL_TLS=false)');
      const native = await NativeConnection.connect(temporalConnectionOptions(loadConfig(env)));
      try {
        await native.workflowService.getSystemInfo({});
      } finally {
        await native.close();
      }
      expect(sidecar.authorizations.length).toBeGreaterThanOrEqual(2);
      expect(new Set(sidecar.authorizations)).toEqual(new Set([`Bearer ${apiKey}`]));

      // Without TEMPORAL_TLS=false, a key means TLS (as Temporal Cloud wants): the plain-text
      // sidecar is never sent the key in the clear.
      const before = sidecar.authorizations.length;
      const tlsByDefault = apiConnection({
        TEMPORAL_ADDRESS: sidecar.address,
        TEMPORAL_API_KEY: apiKey,
      });
      try {
        expect(await tlsByDefault.health.check()).toBe(false);
      } finally {
        await tlsByDefault.connection.close();
      }
      expect(sidecar.authorizations).toHaveLength(before);
      expect(tlsByDefault.logs()).toContain('the server does not speak TLS there');
      expect(tlsByDefault.logs()).not.toContain(apiKey);
    } finally {
      await sidecar.close();
    }
  });

  it('says so when TLS is on towards a server that speaks plain text', async () => {
    const api = apiConnection({
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TLS_CA_FILE: pki.ca.cert,
    });
    try {
      expect(await api.health.check()).toBe(false);
    } finally {
      await api.connection.close();
    }
    expect(api.logs()).toContain('the server does not speak TLS there');
  });
});
