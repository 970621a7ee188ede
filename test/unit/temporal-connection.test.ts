import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalConnectionOptions } from '../../activities/temporal-connection';
import { ConfigError, loadConfig } from '../../domain/config';
import { makeTestPki, type TestPki } from '../support/test-certificates';

/**
 * The Temporal connection settings: what domain/config.ts refuses before anything starts, and
 * what reading the TLS files refuses at start-up, each naming the variable (and the file).
 * Certificates are real ones, made with openssl.
 */
let pki: TestPki;

beforeAll(async () => {
  pki = await makeTestPki();
});
afterAll(async () => {
  await pki?.dispose();
});

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const options = (env: Record<string, string>) => temporalConnectionOptions(loadConfig(env));

describe('Temporal connection settings in the configuration', () => {
  it('refuses a client certificate without its key, and a key without its certificate, naming both', () => {
    const noKey = configError(() => loadConfig({ TEMPORAL_TLS_CERT_FILE: pki.client.cert }));
    expect(noKey.problems).toEqual([
      {
        variable: 'TEMPORAL_TLS_KEY_FILE',
        message:
          'required with TEMPORAL_TLS_CERT_FILE (a client certificate needs its private key)',
      },
    ]);
    const noCert = configError(() => loadConfig({ TEMPORAL_TLS_KEY_FILE: pki.client.key }));
    expect(noCert.problems).toEqual([
      {
        variable: 'TEMPORAL_TLS_CERT_FILE',
        message: 'required with TEMPORAL_TLS_KEY_FILE (a private key needs its client certificate)',
      },
    ]);
  });

  it('refuses TLS files with TEMPORAL_TLS=false, naming them', () => {
    const error = configError(() =>
      loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_FILE: pki.ca.cert }),
    );
    expect(error.message).toContain(
      'TEMPORAL_TLS: is false, but TEMPORAL_TLS_CA_FILE is set: remove TEMPORAL_TLS=false to use TLS',
    );
    expect(configError(() => loadConfig({ TEMPORAL_TLS: 'yes' })).problems[0]?.variable).toBe(
      'TEMPORAL_TLS',
    );
  });

  it('is plain text by default, and TLS once a CA, a client pair or an API key is set', () => {
    expect(options({})).toEqual({ address: '127.0.0.1:7233', tls: false });
    expect(options({ TEMPORAL_TLS: 'true' })).toEqual({ address: '127.0.0.1:7233', tls: {} });
    // Temporal Cloud: an API key alone means TLS with the system's CAs.
    expect(
      options({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' }),
    ).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'k' });
    // A key to a TLS-terminating sidecar on a trusted network, when asked for explicitly.
    expect(options({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toEqual({
      address: '127.0.0.1:7233',
      tls: false,
      apiKey: 'k',
    });
    const mtls = options({
      TEMPORAL_TLS_CA_FILE: pki.ca.cert,
      TEMPORAL_TLS_CERT_FILE: pki.client.cert,
      TEMPORAL_TLS_KEY_FILE: pki.client.key,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(mtls.tls).toEqual({
      serverRootCACertificate: readFileSync(pki.ca.cert),
      clientCertPair: { crt: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) },
      serverNameOverride: 'temporal.internal',
    });
  });
});

describe('reading the TLS files at start-up', () => {
  it('names the variable and the path of a file it cannot read', () => {
    const missing = path.join(pki.dir, 'no-such-ca.pem');
    const error = configError(() => options({ TEMPORAL_TLS_CA_FILE: missing }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.variable).toBe('TEMPORAL_TLS_CA_FILE');
    expect(error.problems[0]?.message).toMatch(
      new RegExp(`^cannot read ${missing}: ENOENT: no such file or directory`),
    );

    // A folder where the key should be (a mount gone wrong): unreadable as a file, even to root.
    const folder = configError(() =>
      options({ TEMPORAL_TLS_CERT_FILE: pki.client.cert, TEMPORAL_TLS_KEY_FILE: pki.dir }),
    );
    expect(folder.problems[0]?.variable).toBe('TEMPORAL_TLS_KEY_FILE');
    expect(folder.problems[0]?.message).toMatch(new RegExp(`^cannot read ${pki.dir}: EISDIR`));
  });

  it('refuses a key where a certificate belongs, and a key that is not the certificate’s', () => {
    const swapped = configError(() =>
      options({ TEMPORAL_TLS_CERT_FILE: pki.client.key, TEMPORAL_TLS_KEY_FILE: pki.client.key }),
    );
    expect(swapped.problems[0]?.variable).toBe('TEMPORAL_TLS_CERT_FILE');
    expect(swapped.problems[0]?.message).toContain(`${pki.client.key} holds no PEM certificate`);

    const mismatched = configError(() =>
      options({ TEMPORAL_TLS_CERT_FILE: pki.client.cert, TEMPORAL_TLS_KEY_FILE: pki.server.key }),
    );
    expect(mismatched.problems).toEqual([
      {
        variable: 'TEMPORAL_TLS_KEY_FILE',
        message: `${pki.server.key} is not the private key of the certificate in TEMPORAL_TLS_CERT_FILE (${pki.client.cert})`,
      },
    ]);

    const notAKey = configError(() =>
      options({ TEMPORAL_TLS_CERT_FILE: pki.client.cert, TEMPORAL_TLS_KEY_FILE: pki.client.cert }),
    );
    expect(notAKey.problems[0]?.variable).toBe('TEMPORAL_TLS_KEY_FILE');
    expect(notAKey.problems[0]?.message).toContain('holds no unencrypted PEM private key');
  });
});
