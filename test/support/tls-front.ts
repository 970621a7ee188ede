import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';

/**
 * A TLS front for a plain-TCP server (FerretDB): it terminates TLS, requiring a client
 * certificate of `clientCa` when given (as a MongoDB with `--tlsCAFile` and client
 * certificates does), and pipes the bytes to `upstream`.
 */
export interface TlsFront {
  port: number;
  /** The common name of each client certificate accepted. */
  clientSubjects: string[];
  /** The error codes of the TLS connections refused. */
  refusals: string[];
  close(): Promise<void>;
}

export async function startTlsFront(options: {
  upstream: { host: string; port: number };
  cert: string;
  key: string;
  clientCa?: string;
}): Promise<TlsFront> {
  const [cert, key, clientCa] = await Promise.all([
    readFile(options.cert),
    readFile(options.key),
    options.clientCa === undefined ? undefined : readFile(options.clientCa),
  ]);
  const clientSubjects: string[] = [];
  const refusals: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert,
      key,
      ...(clientCa === undefined
        ? {}
        : { ca: clientCa, requestCert: true, rejectUnauthorized: true }),
    },
    (socket) => {
      const subject = socket.getPeerCertificate().subject as Record<string, string> | undefined;
      if (subject?.CN !== undefined) clientSubjects.push(subject.CN);
      const upstream = net.connect(options.upstream.port, options.upstream.host);
      for (const end of [socket, upstream]) {
        sockets.add(end);
        end.on('close', () => sockets.delete(end));
        // Either side going away ends the other; the client sees the connection close.
        end.on('error', () => {
          socket.destroy();
          upstream.destroy();
        });
      }
      socket.pipe(upstream).pipe(socket);
    },
  );
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
    refusals.push(error.code ?? error.message);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    clientSubjects,
    refusals,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
