import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The path and query, as the client sent them. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status?: number;
  /** A string goes as it is (text/plain), anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export type Responder = (request: RecordedRequest) => Reply | Promise<Reply>;

/**
 * A chat service on 127.0.0.1: records every request and answers as the test tells it, by
 * default as the service answers a message it accepts.
 */
export class FakeService {
  readonly requests: RecordedRequest[] = [];
  private responder: Responder;

  private constructor(
    private readonly server: http.Server,
    private readonly accept: Reply,
  ) {
    this.responder = () => accept;
  }

  static async start(accept: Reply): Promise<FakeService> {
    const server = http.createServer();
    const service = new FakeService(server, accept);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const recorded: RecordedRequest = {
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        service.requests.push(recorded);
        void Promise.resolve(service.responder(recorded)).then((reply) => {
          const text =
            typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
          response.writeHead(reply.status ?? 200, {
            'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json',
            ...reply.headers,
          });
          response.end(text);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return service;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Answers every request from now on with `reply`, or with what `responder` decides. */
  answer(reply: Reply | Responder): void {
    this.responder = typeof reply === 'function' ? reply : () => reply;
  }

  /** Forgets the requests and answers as the accepting service again. */
  reset(): void {
    this.requests.length = 0;
    this.responder = () => this.accept;
  }

  /** The only request so far, as JSON. */
  lastJson(): unknown {
    const last = this.requests.at(-1);
    if (last === undefined) throw new Error('no request arrived');
    return JSON.parse(last.body);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
