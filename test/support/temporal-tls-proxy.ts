import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * A TLS front for a Temporal dev server, which speaks only plain gRPC: it terminates TLS
 * (optionally requiring a client certificate, as a Temporal cluster with mTLS does) and relays
 * each gRPC call to the dev server over HTTP/2 (or relays plain text to plain text). Since it sees the calls' headers, it records
 * the `authorization` each one carried (what an API key becomes).
 */
export interface TemporalTlsProxy {
  /** host:port to give a Temporal client. */
  address: string;
  /** The `authorization` header of every call relayed, in order (undefined when absent). */
  authorizations: (string | undefined)[];
  /** Why TLS connections were refused (the handshake's error codes). */
  refusals: string[];
  /** The subject of each client certificate presented in an accepted connection. */
  clientSubjects: string[];
  close(): Promise<void>;
}

export interface TemporalTlsProxyOptions {
  /** host:port of the plain-text dev server. */
  upstream: string;
  /**
   * The server certificate and key files (PEM), and when `clientCa` is set, the CA whose
   * client certificates it requires. Without it the relay speaks plain-text gRPC (h2c), as a
   * sidecar on a trusted network would.
   */
  tls?: { cert: string; key: string; clientCa?: string };
}

// Headers HTTP/2 forbids a relay to copy, and the pseudo-headers it sets itself.
const hopHeaders = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

function relayable(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !name.startsWith(':') && !hopHeaders.has(name)),
  );
}

export async function startTemporalTlsProxy(
  options: TemporalTlsProxyOptions,
): Promise<TemporalTlsProxy> {
  const tlsFiles = options.tls;
  const [cert, key, clientCa] = await Promise.all([
    tlsFiles === undefined ? undefined : readFile(tlsFiles.cert),
    tlsFiles === undefined ? undefined : readFile(tlsFiles.key),
    tlsFiles?.clientCa === undefined ? undefined : readFile(tlsFiles.clientCa),
  ]);
  const upstream = http2.connect(`http://${options.upstream}`);
  upstream.on('error', () => {
    // A dev server that goes away fails the calls in flight; those say so to the client.
  });
  const authorizations: (string | undefined)[] = [];
  const refusals: string[] = [];
  const clientSubjects: string[] = [];

  const server =
    cert === undefined || key === undefined
      ? http2.createServer()
      : http2.createSecureServer({
          cert,
          key,
          ...(clientCa === undefined
            ? {}
            : { ca: clientCa, requestCert: true, rejectUnauthorized: true }),
        });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
    refusals.push(error.code ?? error.message);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const subject = socket.getPeerCertificate().subject as Record<string, string> | undefined;
    if (subject?.CN !== undefined) clientSubjects.push(subject.CN);
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const authorization = headers.authorization;
    authorizations.push(Array.isArray(authorization) ? authorization.join(',') : authorization);
    const call = upstream.request({
      ':method': headers[':method'] ?? 'POST',
      ':path': headers[':path'] ?? '/',
      ...relayable(headers),
    });
    let trailers: http2.OutgoingHttpHeaders = {};
    call.on('response', (responseHeaders, flags) => {
      if (stream.destroyed) return;
      // A trailers-only answer (an error status, no message) ends the stream with its headers.
      const endsHere = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      stream.respond(
        { ':status': responseHeaders[':status'] ?? 200, ...relayable(responseHeaders) },
        endsHere ? { endStream: true } : { waitForTrailers: true },
      );
    });
    call.on('trailers', (received: http2.IncomingHttpHeaders) => {
      trailers = relayable(received);
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    call.on('data', (chunk: Buffer) => {
      if (!stream.destroyed && stream.headersSent) stream.write(chunk);
    });
    call.on('end', () => {
      if (!stream.destroyed && stream.headersSent && !stream.writableEnded) stream.end();
    });
    stream.on('data', (chunk: Buffer) => call.write(chunk));
    stream.on('end', () => call.end());
    // A client that cancels (a worker's long poll at shutdown) cancels the relayed call.
    stream.on('close', () => {
      if (!call.closed) call.close(http2.constants.NGHTTP2_CANCEL);
    });
    call.on('close', () => {
      if (!stream.closed && !stream.headersSent)
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    call.on('error', () => {
      // Reported to the client by the close above.
    });
    stream.on('error', () => {
      // The client went away; the close above cancels the relayed call.
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    authorizations,
    refusals,
    clientSubjects,
    close: () =>
      new Promise<void>((resolve) => {
        upstream.close();
        server.close(() => resolve());
        // Sessions a client keeps open (a worker's pollers) would hold close() forever.
        for (const session of sessions) session.destroy();
      }),
  };
}
