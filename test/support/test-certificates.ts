import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as PEM files on disk. */
export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signs the server's and the client's certificates. */
  ca: CertificateFiles;
  /** For 127.0.0.1, localhost and temporal.internal (the name an SNI override asks for). */
  server: CertificateFiles;
  /** A client certificate (mTLS) signed by `ca`. */
  client: CertificateFiles;
  /** A CA of its own that signed nothing here: the wrong CA to trust. */
  otherCa: CertificateFiles;
  /** A client certificate signed by `otherCa`, which the server must refuse. */
  strangerClient: CertificateFiles;
  dispose(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

async function makeCa(dir: string, name: string): Promise<CertificateFiles> {
  const files = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', files.key], dir);
  await openssl(
    [
      ...['req', '-x509', '-new', '-key', files.key, '-sha256', '-days', '2'],
      ...['-subj', `/CN=${name}`, '-out', files.cert],
      ...['-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ],
    dir,
  );
  return files;
}

async function makeLeaf(
  dir: string,
  name: string,
  ca: CertificateFiles,
  extensions: string,
): Promise<CertificateFiles> {
  const files = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', files.key], dir);
  await openssl(['req', '-new', '-key', files.key, '-subj', `/CN=${name}`, '-out', csr], dir);
  await writeFile(ext, extensions);
  await openssl(
    [
      ...['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key],
      // A serial of its own (not a shared .srl file: the certificates are made at once).
      ...['-set_serial', `0x${randomBytes(8).toString('hex')}`],
      ...['-days', '2', '-sha256', '-extfile', ext, '-out', files.cert],
    ],
    dir,
  );
  return files;
}

/**
 * A throwaway PKI made with the system's openssl: a CA, a server certificate and a client
 * certificate it signs, and a second CA with a client of its own (what must be refused).
 */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-pki-'));
  const ca = await makeCa(dir, 'relguard-test-ca');
  const otherCa = await makeCa(dir, 'someone-elses-ca');
  const leaf = (usage: string, altNames?: string) =>
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usage}`,
      ...(altNames === undefined ? [] : [`subjectAltName=${altNames}`]),
    ].join('\n') + '\n';
  const [server, client, strangerClient] = await Promise.all([
    makeLeaf(
      dir,
      'server',
      ca,
      leaf('serverAuth', 'IP:127.0.0.1,DNS:localhost,DNS:temporal.internal'),
    ),
    makeLeaf(dir, 'worker-client', ca, leaf('clientAuth')),
    makeLeaf(dir, 'stranger-client', otherCa, leaf('clientAuth')),
  ]);
  return {
    dir,
    ca,
    server,
    client,
    otherCa,
    strangerClient,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
