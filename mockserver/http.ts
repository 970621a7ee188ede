import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors';

export interface Reply {
  status: number;
  body: string;
  /** application/json unless set. */
  contentType?: string;
}

const jsonType = 'application/json; charset=utf-8';
const maxBodyBytes = 64 * 1024;

export function jsonReply(status: number, body: unknown): Reply {
  return { status, body: JSON.stringify(body) };
}

export function errorReply(error: ApiError): Reply {
  return jsonReply(error.status, {
    error: { code: error.code, message: error.message, details: error.details ?? null },
  });
}

/** Reads a small request body; a larger one is refused rather than buffered. */
export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new ApiError(413, 'body_too_large', `request body over ${maxBodyBytes} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Parses a JSON body; an empty one is `{}` so `POST /faults` with no body gets a 400 on `type`. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const text = await readBody(request);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

export function send(response: ServerResponse, reply: Reply): void {
  response.writeHead(reply.status, {
    'content-type': reply.contentType ?? jsonType,
    'content-length': Buffer.byteLength(reply.body),
  });
  response.end(reply.body);
}

const tickMs = 100;

/**
 * Sends the body at `kbps` kilobits per second, one slice per 100 ms tick, the first slice
 * after one tick too, so a body of B bytes takes about B / rate seconds.
 */
export function sendThrottled(response: ServerResponse, reply: Reply, kbps: number): void {
  const body = Buffer.from(reply.body);
  const bytesPerTick = Math.max(1, Math.floor((kbps * 1000) / 8 / (1000 / tickMs)));
  response.writeHead(reply.status, {
    'content-type': reply.contentType ?? jsonType,
    'content-length': body.length,
  });
  response.flushHeaders();
  let offset = 0;
  const tick = (): void => {
    if (response.destroyed) return;
    const end = Math.min(body.length, offset + bytesPerTick);
    const slice = body.subarray(offset, end);
    offset = end;
    if (offset >= body.length) {
      response.end(slice);
    } else {
      response.write(slice);
      setTimeout(tick, tickMs);
    }
  };
  setTimeout(tick, tickMs);
}
