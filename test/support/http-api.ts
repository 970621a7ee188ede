import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { RelguardApp } from '../../api/app';

/** An api served over real HTTP on a free loopback port, as `npm run api` serves it. */
export interface HttpApi {
  url: string;
  /** fetch on the api with `token` as the bearer (none when undefined); the raw body as text. */
  call(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; text: string; json: () => unknown; headers: Headers }>;
  close(): Promise<void>;
}

export async function serveHttp(app: RelguardApp): Promise<HttpApi> {
  const server = await new Promise<ServerType>((resolve) => {
    const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () =>
      resolve(listening),
    );
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async call(method, path, token, body, extra = {}) {
      const headers: Record<string, string> = { ...extra };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        text,
        json: (): unknown => JSON.parse(text) as unknown,
        headers: response.headers,
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
