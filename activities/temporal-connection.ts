import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, type Config } from '../domain/config';
import { errorMessage } from '../domain/errors';

/**
 * How the api and the worker reach Temporal: one set of options for both the client's
 * `Connection` and the worker's `NativeConnection`, built once from the configuration at
 * start-up. TLS (a server CA, a client certificate for mTLS, an SNI override) and an API key
 * are what a production cluster or Temporal Cloud asks for; the dev server needs none.
 */

export type TemporalConnectionConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CA_FILE'
  | 'TEMPORAL_TLS_CERT_FILE'
  | 'TEMPORAL_TLS_KEY_FILE'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_API_KEY'
>;

/** What `Connection.connect`/`lazy` and `NativeConnection.connect` take, in the shape both share. */
export interface TemporalConnectionOptions {
  address: string;
  /** Always explicit: `false` keeps the SDK from turning TLS on by itself for an API key. */
  tls: TLSConfig | false;
  /** Sent as `authorization: Bearer <key>` on every call; a secret, never logged. */
  apiKey?: string;
}

/** Whether the configuration asks for TLS: TEMPORAL_TLS when set, else any TLS setting or an API key. */
export function temporalTlsEnabled(config: TemporalConnectionConfig): boolean {
  if (config.TEMPORAL_TLS !== undefined) return config.TEMPORAL_TLS;
  return (
    config.TEMPORAL_TLS_CA_FILE !== undefined ||
    config.TEMPORAL_TLS_CERT_FILE !== undefined ||
    config.TEMPORAL_TLS_SERVER_NAME !== undefined ||
    config.TEMPORAL_API_KEY !== undefined
  );
}

type FileVariable = 'TEMPORAL_TLS_CA_FILE' | 'TEMPORAL_TLS_CERT_FILE' | 'TEMPORAL_TLS_KEY_FILE';

function refuse(variable: string, message: string): never {
  throw new ConfigError([{ variable, message }]);
}

function readPem(config: TemporalConnectionConfig, variable: FileVariable): Buffer {
  const file = config[variable]!;
  try {
    return readFileSync(file);
  } catch (error) {
    return refuse(variable, `cannot read ${file}: ${errorMessage(error)}`);
  }
}

function certificateIn(config: TemporalConnectionConfig, variable: FileVariable, pem: Buffer) {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    return refuse(
      variable,
      `${config[variable]} holds no PEM certificate (${errorMessage(error)}): ` +
        'expected a file that starts with -----BEGIN CERTIFICATE-----',
    );
  }
  const expires = Date.parse(certificate.validTo);
  if (expires < Date.now()) {
    refuse(
      variable,
      `the certificate in ${config[variable]} (${certificate.subject.replace(/\n/g, ', ')}) ` +
        `expired on ${new Date(expires).toISOString()}`,
    );
  }
  return certificate;
}

function privateKeyIn(config: TemporalConnectionConfig, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    return refuse(
      'TEMPORAL_TLS_KEY_FILE',
      `${config.TEMPORAL_TLS_KEY_FILE} holds no unencrypted PEM private key (${errorMessage(error)})`,
    );
  }
}

/**
 * The connection options from the configuration, reading the TLS files once (call it at
 * start-up). A file that cannot be read, that holds no certificate or key, an expired
 * certificate, or a key that is not the certificate's is a ConfigError naming the variable
 * and the file. domain/config.ts has already refused half a client pair and TLS files with
 * TEMPORAL_TLS=false.
 */
export function temporalConnectionOptions(
  config: TemporalConnectionConfig,
): TemporalConnectionOptions {
  const apiKey = config.TEMPORAL_API_KEY === undefined ? {} : { apiKey: config.TEMPORAL_API_KEY };
  if (!temporalTlsEnabled(config))
    return { address: config.TEMPORAL_ADDRESS, tls: false, ...apiKey };

  const tlsConfig: TLSConfig = {};
  if (config.TEMPORAL_TLS_CA_FILE !== undefined) {
    const pem = readPem(config, 'TEMPORAL_TLS_CA_FILE');
    certificateIn(config, 'TEMPORAL_TLS_CA_FILE', pem);
    tlsConfig.serverRootCACertificate = pem;
  }
  if (config.TEMPORAL_TLS_CERT_FILE !== undefined && config.TEMPORAL_TLS_KEY_FILE !== undefined) {
    const crt = readPem(config, 'TEMPORAL_TLS_CERT_FILE');
    const key = readPem(config, 'TEMPORAL_TLS_KEY_FILE');
    const certificate = certificateIn(config, 'TEMPORAL_TLS_CERT_FILE', crt);
    if (!certificate.checkPrivateKey(privateKeyIn(config, key))) {
      refuse(
        'TEMPORAL_TLS_KEY_FILE',
        `${config.TEMPORAL_TLS_KEY_FILE} is not the private key of the certificate in ` +
          `TEMPORAL_TLS_CERT_FILE (${config.TEMPORAL_TLS_CERT_FILE})`,
      );
    }
    tlsConfig.clientCertPair = { crt, key };
  }
  if (config.TEMPORAL_TLS_SERVER_NAME !== undefined) {
    tlsConfig.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
  }
  return { address: config.TEMPORAL_ADDRESS, tls: tlsConfig, ...apiKey };
}

/**
 * How relguard reaches Temporal, for logs: the address and which protections are on, never
 * a key or a certificate.
 */
export function describeTemporalConnection(config: TemporalConnectionConfig) {
  const tlsOn = temporalTlsEnabled(config);
  return {
    address: config.TEMPORAL_ADDRESS,
    tls: tlsOn,
    ...(tlsOn
      ? {
          server_ca: config.TEMPORAL_TLS_CA_FILE ?? 'system CAs',
          client_certificate: config.TEMPORAL_TLS_CERT_FILE ?? 'none',
          ...(config.TEMPORAL_TLS_SERVER_NAME === undefined
            ? {}
            : { server_name: config.TEMPORAL_TLS_SERVER_NAME }),
        }
      : {}),
    api_key: config.TEMPORAL_API_KEY === undefined ? 'unset' : 'set',
  };
}

/** A connection to Temporal that failed, with what relguard could tell about why. */
export class TemporalConnectionError extends Error {
  override readonly name = 'TemporalConnectionError';

  constructor(
    message: string,
    /** What the TLS handshake found, when it found something wrong. */
    readonly diagnosis: string | undefined,
    /** The SDK's own message (an API key in it is masked). */
    readonly sdkMessage: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }

  /** The same for the same fault, whatever durations the SDK's message names. */
  get reason(): string {
    return this.diagnosis ?? this.sdkMessage.replace(/\d+(\.\d+)?/g, '#');
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const bracketed = /^\[(.+)\]:(\d+)$/.exec(address);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2]) };
  const colon = address.lastIndexOf(':');
  if (colon < 0) return { host: address, port: 7233 };
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

// The first bytes of an HTTP/2 connection (preface and an empty SETTINGS frame): a server
// that accepted the handshake answers them; one that refused the client certificate sends
// its alert instead (in TLS 1.3 that refusal comes only after the handshake looks done).
const http2Preface = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

const untrustedServerCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** The TLS handshake's verdict in words that name the setting to fix; undefined when it succeeds. */
function tlsDiagnosis(
  config: TemporalConnectionConfig,
  error: NodeJS.ErrnoException,
  serverName: string,
): string {
  const code = error.code ?? '';
  const ca =
    config.TEMPORAL_TLS_CA_FILE === undefined
      ? 'no TEMPORAL_TLS_CA_FILE is set, so only the system CAs are trusted'
      : `TEMPORAL_TLS_CA_FILE is ${config.TEMPORAL_TLS_CA_FILE}`;
  if (untrustedServerCodes.has(code)) {
    return `the server's certificate is not trusted (${error.message}): ${ca}`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return (
      `the server's certificate is not for ${serverName} (${error.message}); ` +
      'TEMPORAL_TLS_SERVER_NAME sets the name to check'
    );
  }
  if (/CERTIFICATE_REQUIRED|PEER_DID_NOT_RETURN_A_CERTIFICATE/.test(code)) {
    return (
      'the server requires a client certificate (mTLS) and none was sent: ' +
      'set TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE'
    );
  }
  if (
    /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|DECRYPT_ERROR)/.test(
      code,
    )
  ) {
    return (
      `the server refused the client certificate in TEMPORAL_TLS_CERT_FILE ` +
      `(${config.TEMPORAL_TLS_CERT_FILE ?? 'none'}): ${error.message}`
    );
  }
  if (
    /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE/.test(code)
  ) {
    return `the server does not speak TLS there (${error.message}): set TEMPORAL_TLS=false, or use its TLS port`;
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    return `nothing answers at ${config.TEMPORAL_ADDRESS} (${error.message})`;
  }
  return `the TLS handshake failed: ${error.message}`;
}

/**
 * Makes the TLS handshake the SDK would, with the same CA, client pair and server name, to
 * find out why a connection failed (the SDK's own errors often say only "failed to connect
 * before the deadline"). Resolves undefined when the handshake succeeds: the failure lies
 * elsewhere (the API key, the namespace, an overloaded server).
 */
async function probeTls(
  config: TemporalConnectionConfig,
  options: TemporalConnectionOptions,
  timeoutMs: number,
): Promise<string | undefined> {
  if (options.tls === false) return undefined;
  const { host, port } = splitAddress(options.address);
  const serverName = options.tls.serverNameOverride ?? host;
  const pair = options.tls.clientCertPair;
  return await new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ...(isIP(serverName) === 0 ? { servername: serverName } : {}),
      // Node checks the certificate against `servername`, or the host when there is none.
      checkServerIdentity: (_host, certificate) => tls.checkServerIdentity(serverName, certificate),
      ALPNProtocols: ['h2'],
      ...(options.tls === false || options.tls.serverRootCACertificate === undefined
        ? {}
        : { ca: Buffer.from(options.tls.serverRootCACertificate) }),
      ...(pair === undefined ? {} : { cert: Buffer.from(pair.crt), key: Buffer.from(pair.key) }),
    });
    const finish = (verdict: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(
      () => finish(`no TLS answer from ${options.address} within ${timeoutMs} ms`),
      timeoutMs,
    );
    let handshakeDone = false;
    socket.once('secureConnect', () => {
      handshakeDone = true;
      socket.write(http2Preface);
    });
    socket.once('data', () => finish(undefined));
    // `on`, not `once`: a second error from the probe must not go unhandled and crash the process.
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(tlsDiagnosis(config, error, serverName)),
    );
    // Some servers check the client certificate after the handshake and hang up without an alert.
    socket.once('close', () =>
      finish(
        !handshakeDone
          ? `${options.address} closed the connection during the TLS handshake`
          : pair === undefined
            ? `${options.address} hung up right after the TLS handshake: it may require a ` +
              'client certificate (TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE)'
            : `${options.address} hung up right after the TLS handshake: it refused the client ` +
              `certificate in TEMPORAL_TLS_CERT_FILE (${config.TEMPORAL_TLS_CERT_FILE}), ` +
              'or requires another one',
      ),
    );
  });
}

/**
 * A connection failure as an error that says where relguard tried to connect, how (TLS or
 * not, which CA, which client certificate) and, for TLS, what the handshake found; the SDK's
 * own message follows. Never includes the API key.
 */
export async function explainTemporalConnectionError(
  error: unknown,
  config: TemporalConnectionConfig,
  options: TemporalConnectionOptions,
  probeTimeoutMs = 5000,
): Promise<TemporalConnectionError> {
  const how = describeTemporalConnection(config);
  const setup = how.tls
    ? `TLS, server CA: ${how.server_ca}, client certificate: ${how.client_certificate}` +
      (how.server_name === undefined ? '' : `, server name: ${how.server_name}`)
    : 'plain text (TEMPORAL_TLS off)';
  const diagnosis = await probeTls(config, options, probeTimeoutMs).catch(() => undefined);
  const sdkMessage = errorMessage(error);
  const apiKey = config.TEMPORAL_API_KEY;
  const safeSdkMessage =
    apiKey === undefined ? sdkMessage : sdkMessage.split(apiKey).join('<TEMPORAL_API_KEY>');
  return new TemporalConnectionError(
    `cannot connect to Temporal at ${config.TEMPORAL_ADDRESS} (${setup}): ` +
      (diagnosis === undefined ? '' : `${diagnosis}; `) +
      `the SDK said: ${safeSdkMessage}`,
    diagnosis,
    safeSdkMessage,
    // Not the SDK's error itself: a logger would print its message, API key and all.
    { cause: new Error(safeSdkMessage) },
  );
}
