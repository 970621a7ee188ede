import net from 'node:net';

/**
 * A remote that hangs, on a loopback port of its own: it accepts every connection and then
 * never answers (`silent`), or answers an HTTP request with its status and headers and then
 * never sends the promised body (`headers-only`). For the timeouts of relguard's clients.
 */
export interface HungServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startHungServer(
  mode: 'silent' | 'headers-only' = 'silent',
): Promise<HungServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {
      // The client gave up: that is the point.
    });
    if (mode === 'headers-only') {
      socket.once('data', () => {
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n{"id":',
        );
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
