import net from 'node:net';

/**
 * Ports this process has handed out. A port is free when asked for but bound only later (a
 * machine listens when it is deployed), and the kernel may offer the same port again in the
 * meantime: two machines of one application on one port would answer for each other.
 */
const handedOut = new Set<number>();

/** A port on 127.0.0.1 that nothing listens on right now, never one this process gave before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unusedPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

async function unusedPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}
