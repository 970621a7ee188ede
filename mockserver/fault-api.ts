import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors';
import { isFaultType } from './faults/index';
import type { FaultRegistry } from './faults/registry';
import { jsonReply, readJson, type Reply } from './http';

export interface FaultApiCall {
  /** Route template, for the metrics label. */
  route: string;
  /** Throws ApiError for the error envelope. */
  run: () => Reply | Promise<Reply>;
}

const methodNotAllowed = (allowed: string): ApiError =>
  new ApiError(405, 'method_not_allowed', `method not allowed; use ${allowed}`, { allowed });

/**
 * The control plane, chaosd/Toxiproxy style:
 *   GET /faults, POST /faults {type, params, duration}, GET|DELETE /faults/:id,
 *   POST /faults/reset, and the curl shorthand POST /faults/:type?param=value&duration=30s.
 */
export function routeFaultApi(
  registry: FaultRegistry,
  method: string,
  path: string,
  query: string,
  request: IncomingMessage,
): FaultApiCall {
  if (path === '/faults' || path === '/faults/') {
    return {
      route: '/faults',
      run: async () => {
        if (method === 'GET') return jsonReply(200, { faults: registry.list() });
        if (method === 'POST')
          return jsonReply(201, registry.start(await readJson(request), 'api'));
        throw methodNotAllowed('GET, POST');
      },
    };
  }
  const name = decodeSegment(path.slice('/faults/'.length));
  if (name === 'reset') {
    return {
      route: '/faults/reset',
      run: async () => {
        if (method !== 'POST') throw methodNotAllowed('POST');
        return jsonReply(200, { stopped: await registry.reset() });
      },
    };
  }
  if (method === 'POST') {
    return {
      route: '/faults/:type',
      run: () => jsonReply(201, registry.start(shorthandSpec(name, query), 'api')),
    };
  }
  return {
    route: '/faults/:id',
    run: async () => {
      if (method !== 'GET' && method !== 'DELETE') {
        throw methodNotAllowed(isFaultType(name) ? 'POST' : 'GET, DELETE');
      }
      const fault = method === 'GET' ? registry.get(name) : await registry.end(name);
      if (fault === undefined)
        throw new ApiError(404, 'not_found', `no active fault "${name}"`, { id: name });
      return jsonReply(200, fault);
    },
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Query values arrive as text: numbers and booleans are read as such so the same zod schemas
 * apply; repeated keys (routes=/a&routes=/b) join with commas like routes=/a,/b.
 */
function shorthandSpec(type: string, query: string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  let duration: string | undefined;
  for (const [key, value] of new URLSearchParams(query)) {
    if (key === 'duration') {
      duration = value;
      continue;
    }
    const previous = params[key];
    params[key] = typeof previous === 'string' ? `${previous},${value}` : coerce(value);
  }
  return { type, params, ...(duration === undefined ? {} : { duration }) };
}

function coerce(value: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}
