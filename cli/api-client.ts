import { ApiError } from './errors';

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** The REST api as the commands use it; every failure is an ApiError. */
export interface ApiClient {
  readonly baseUrl: string;
  request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** A non-JSON representation, e.g. `text/markdown`. */
  getText(path: string, accept: string): Promise<string>;
  /** PUTs a file's bytes (a package) and reads the JSON answer. */
  putBytes<T>(path: string, bytes: Uint8Array, contentType: string): Promise<ApiResponse<T>>;
}

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
  /** Per request; a release is followed by many short requests, never one long one. */
  timeoutMs?: number;
}

const defaultTimeoutMs = 30_000;

export function createApiClient(options: ApiClientOptions): ApiClient {
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;

  async function exchange(
    method: string,
    path: string,
    accept: string,
    body?: unknown,
    raw?: { bytes: Uint8Array; contentType: string },
  ) {
    const headers: Record<string, string> = { accept };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (raw !== undefined) headers['content-type'] = raw.contentType;
    let response: Response;
    let text: string;
    try {
      response = await send(`${options.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(raw === undefined ? {} : { body: raw.bytes }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw unreachable(options.baseUrl, error, timeoutMs);
    }
    if (!response.ok) throw errorOfResponse(response, text);
    return { status: response.status, text };
  }

  const client: ApiClient = {
    baseUrl: options.baseUrl,
    async request<T>(method: string, path: string, body?: unknown) {
      const { status, text } = await exchange(method, path, 'application/json', body);
      return { status, body: parseJson<T>(text, status) };
    },
    async get<T>(path: string) {
      return (await client.request<T>('GET', path)).body;
    },
    async post<T>(path: string, body?: unknown) {
      return (await client.request<T>('POST', path, body ?? {})).body;
    },
    async getText(path: string, accept: string) {
      return (await exchange('GET', path, accept)).text;
    },
    async putBytes<T>(path: string, bytes: Uint8Array, contentType: string) {
      const answer = await exchange('PUT', path, 'application/json', undefined, {
        bytes,
        contentType,
      });
      return { status: answer.status, body: parseJson<T>(answer.text, answer.status) };
    },
  };
  return client;
}

/** One path segment, so that an id or a name can never change which route is called. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

function parseJson<T>(text: string, status: number): T {
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
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
