import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createLogger } from '../activities/logger';
import { ApiError } from './errors';
import { routeFaultApi } from './fault-api';
import { defaultLimits } from './faults/limits';
import { FaultRegistry } from './faults/registry';
import type { FaultLimits, RequestEffect } from './faults/types';
import { errorReply, jsonReply, readBody, send, sendThrottled, type Reply } from './http';
import { createMetrics } from './metrics';
import { baselineDelay, matchBusinessRoute } from './routes';

export interface MockServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  app?: string;
  version?: string;
  /** Defaults to host:port once listening. */
  instance?: string;
  deployPath?: string;
  /** Faults started before the first request and kept until their duration ends. */
  faults?: readonly unknown[];
  /** false drops the demo routes' built-in latency, for benchmarks and exact latency tests. */
  baselineLatency?: boolean;
  limits?: Partial<FaultLimits>;
  diskDir?: string;
  logger?: Logger;
  exit?: (code: number) => void;
}

interface ResolvedRoute {
  /** Route template, the metrics label. */
  route: string;
  /** Whether request faults may apply: not for /faults, 404s and wrong methods. */
  faultable: boolean;
  /** Throws ApiError for the error envelope. */
  handle: () => Reply | Promise<Reply>;
}

export interface MockServer {
  url: string;
  host: string;
  port: number;
  app: string;
  version: string;
  instance: string;
  /** Ends every fault (threads, memory, files, hung requests) and closes all connections. */
  close(): Promise<void>;
}

/** Starts the demo application with its fault API and metrics; resolves once listening. */
export async function createMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const host = options.host ?? '127.0.0.1';
  const app = options.app ?? 'mockserver';
  const version = options.version ?? 'dev';
  const logger = options.logger ?? createLogger('mockserver', 'silent');
  const diskDir =
    options.diskDir ?? path.join(os.tmpdir(), 'relguard-mockserver-disk', String(process.pid));
  const baselineLatency = options.baselineLatency ?? true;
  const startedAt = new Date();

  const metrics = createMetrics({ app, version, instance: options.instance ?? '' });
  const registry = new FaultRegistry({
    limits: { ...defaultLimits(diskDir), ...options.limits },
    logger,
    diskDir,
    exit: options.exit ?? ((code) => process.exit(code)),
    onActiveCount: (type, count) => metrics.setActiveFaults(type, count),
  });
  for (const [index, spec] of (options.faults ?? []).entries()) {
    try {
      registry.start(spec, 'config');
    } catch (error) {
      await registry.reset();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`faults[${index}]: ${reason}`, { cause: error });
    }
  }
  let instance = options.instance ?? '';

  const metaReplies: Record<string, () => Reply | Promise<Reply>> = {
    '/healthz': () => jsonReply(200, { status: 'ok' }),
    '/version': () =>
      jsonReply(200, {
        app,
        version,
        instance,
        deploy_path: options.deployPath ?? null,
        pid: process.pid,
        started_at: startedAt.toISOString(),
      }),
    '/metrics': async () => ({
      status: 200,
      body: await metrics.registry.metrics(),
      contentType: metrics.registry.contentType,
    }),
  };

  /** The route template a request counts under, and what answers it. */
  function resolve(request: IncomingMessage): ResolvedRoute {
    const method = request.method ?? 'GET';
    const rawUrl = request.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const pathname = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);

    // The control plane is never faulted: a fault must always be removable.
    if (pathname === '/faults' || pathname.startsWith('/faults/')) {
      const query = queryStart === -1 ? '' : rawUrl.slice(queryStart + 1);
      const call = routeFaultApi(registry, method, pathname, query, request);
      return { route: call.route, faultable: false, handle: call.run };
    }
    const business = matchBusinessRoute(pathname);
    const meta = metaReplies[pathname];
    const notFound = (): never => {
      throw new ApiError(404, 'not_found', `no route for ${method} ${pathname}`);
    };
    if (business === undefined && meta === undefined) {
      return { route: 'unmatched', faultable: false, handle: notFound };
    }
    const route = business?.route.route ?? pathname;
    const expectedMethod = business?.route.method ?? 'GET';
    if (method !== expectedMethod) {
      return {
        route,
        faultable: false,
        handle: () => {
          throw new ApiError(
            405,
            'method_not_allowed',
            `method not allowed; use ${expectedMethod}`,
            {
              allowed: expectedMethod,
            },
          );
        },
      };
    }
    if (business === undefined) return { route, faultable: true, handle: meta ?? notFound };
    return {
      route,
      faultable: true,
      handle: async () => {
        if (baselineLatency) await baselineDelay(business.route);
        return business.route.handle({
          params: business.params,
          readBody: () => readBody(request),
        });
      },
    };
  }

  async function respond(
    resolved: ResolvedRoute,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    // Which faults apply to which route is the faults' own decision (their `routes`).
    const effect = resolved.faultable ? registry.effectFor(resolved.route) : undefined;
    if (effect === undefined) {
      send(response, await resolved.handle());
      return;
    }
    if (await sufferNetwork(effect, request, response)) return;
    if (effect.delayMs > 0) await sleep(effect.delayMs);
    const reply =
      effect.errorStatus === undefined
        ? await resolved.handle()
        : jsonReply(effect.errorStatus, {
            error: {
              code: 'injected_fault',
              message: 'error injected by an error fault',
              details: null,
            },
          });
    if (effect.bandwidthKbps !== undefined) sendThrottled(response, reply, effect.bandwidthKbps);
    else send(response, reply);
  }

  const server = createServer((request, response) => {
    const started = performance.now();
    const resolved = resolve(request);
    response.once('finish', () => {
      metrics.observeRequest(
        resolved.route,
        request.method ?? 'GET',
        response.statusCode,
        (performance.now() - started) / 1000,
      );
    });
    respond(resolved, request, response).catch((error: unknown) => {
      if (response.headersSent || response.destroyed) {
        response.destroy();
        return;
      }
      if (!(error instanceof ApiError)) logger.error({ err: error }, 'request failed');
      send(
        response,
        errorReply(
          error instanceof ApiError ? error : new ApiError(500, 'internal', 'internal error'),
        ),
      );
    });
  });
  server.keepAliveTimeout = 65_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await registry.reset();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  instance = options.instance ?? `${host}:${port}`;
  metrics.setLabels({ app, version, instance });
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    app,
    version,
    instance,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await registry.reset();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/**
 * Applies drop and timeout; true when the request is finished with (no response is sent).
 * These happen "on the wire", so the request is not counted in http_requests_total either.
 */
async function sufferNetwork(
  effect: RequestEffect,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  if (effect.network === 'drop') {
    request.socket.destroy();
    return true;
  }
  if (effect.network === 'timeout') {
    await new Promise<void>((resolve) => {
      void effect.hangUntil?.then(resolve);
      response.once('close', resolve);
    });
    response.destroy();
    return true;
  }
  return false;
}
