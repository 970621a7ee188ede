import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  path: string;
  params: URLSearchParams;
  authorization: string | undefined;
}

export type Answer = (response: ServerResponse) => void;

export const json =
  (status: number, body: unknown): Answer =>
  (response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };

export const success = (data: unknown): Answer => json(200, { status: 'success', data });

export const failure = (status: number, errorType: string, error: string): Answer =>
  json(status, { status: 'error', errorType, error });

/** Never answers: for timeouts. */
export const silence: Answer = () => undefined;

/**
 * A stand-in Prometheus on a free loopback port that answers each API path as the test sets
 * (404 otherwise, as Prometheus does) and records what it was asked.
 */
export interface StandIn {
  url: string;
  seen: SeenRequest[];
  answers: Map<string, Answer>;
  stop(): Promise<void>;
}

export async function startStandIn(): Promise<StandIn> {
  const seen: SeenRequest[] = [];
  const answers = new Map<string, Answer>();
  const server: Server = createServer((request: IncomingMessage, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    seen.push({
      path: url.pathname,
      params: url.searchParams,
      authorization: request.headers.authorization,
    });
    const answer = answers.get(url.pathname);
    if (answer === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('404 page not found\n');
      return;
    }
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    answers,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
