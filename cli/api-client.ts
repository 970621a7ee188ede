import { createRelguardClient, type RelguardClient } from '../client';
import { ApiError } from './errors';

/**
 * The REST api as the commands use it: the client generated from the api's OpenAPI document
 * (client/index.ts), so each path, parameter and body is checked against the routes, over
 * this transport, which keeps the CLI's errors: anything but a success is an ApiError naming
 * what the api said, an api that cannot be reached or does not answer in time an ApiError of
 * status 0, and a success that is not JSON is refused as not the relguard api. The generated
 * client rather than our own typed wrapper over fetch: the same client other teams use, kept
 * up by its maintainers, with nothing of the document's types written out here.
 */
export type ApiClient = RelguardClient;

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
  /** Per request; a release is followed by many short requests, never one long one. */
  timeoutMs?: number;
}

const defaultTimeoutMs = 30_000;

export function createApiClient(options: ApiClientOptions): ApiClient {
  return createRelguardClient({
    baseUrl: options.baseUrl,
    ...(options.token === undefined ? {} : { token: options.token }),
    fetch: transport(options),
  });
}

/**
 * The body of an answer. The transport turned every failure into an ApiError, so an answer
 * here is a success: one without the body its route declares is not the api's.
 */
export function body<T>(answer: { data?: T; response: Response }): T {
  if (answer.data === undefined) {
    throw new ApiError(
      answer.response.status,
      'bad_response',
      `the api answered ${answer.response.status} without a body: is --api (RELGUARD_API_URL) the relguard api?`,
    );
  }
  return answer.data;
}

function transport(options: ApiClientOptions): (request: Request) => Promise<Response> {
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return async (request) => {
    if (!request.headers.has('accept')) request.headers.set('accept', 'application/json');
    let response: Response;
    let text: string;
    try {
      response = await send(new Request(request, { signal: AbortSignal.timeout(timeoutMs) }));
      text = await response.text();
    } catch (error) {
      throw unreachable(options.baseUrl, error, timeoutMs);
    }
    if (!response.ok) throw errorOfResponse(response, text);
    if (text !== '' && request.headers.get('accept') === 'application/json') {
      parseJson(text, response.status);
    }
    // The text as read, for the client to parse: the length and encoding were the wire's.
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(text === '' ? null : text, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

function parseJson(text: string, status: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(
      status,
      'bad_response',
      'the api answered with something that is not JSON: is --api (RELGUARD_API_URL) the relguard api?',
    );
  }
}

/** The api's error envelope, `{error: {code, message, details}}`; anything else as it came. */
function errorOfResponse(response: Response, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; details?: unknown };
    };
    const error = parsed.error;
    if (error !== undefined && typeof error.message === 'string') {
      return new ApiError(
        response.status,
        typeof error.code === 'string' ? error.code : 'error',
        error.message,
        error.details,
      );
    }
  } catch {
    // Not JSON: a proxy's page, say. Its first line is the best message there is.
  }
  const firstLine = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return new ApiError(response.status, 'http_error', firstLine || response.statusText || 'error');
}

function unreachable(baseUrl: string, error: unknown, timeoutMs: number): ApiError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ApiError(
      0,
      'timeout',
      `the api at ${baseUrl} did not answer within ${Math.round(timeoutMs / 1000)}s`,
    );
  }
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string }) : undefined;
  const why =
    cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new ApiError(0, 'unreachable', `cannot reach the api at ${baseUrl} (${why})`);
}
