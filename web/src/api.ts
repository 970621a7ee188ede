/**
 * The api, called with the person's bearer token. The token lives in localStorage (it is
 * what the person pasted, nothing more); a 401 forgets it and brings the sign-in back.
 */
const tokenKey = 'relguard.token';

export function storedToken(): string | undefined {
  return localStorage.getItem(tokenKey) ?? undefined;
}

export function saveToken(token: string): void {
  localStorage.setItem(tokenKey, token);
}

export function forgetToken(): void {
  localStorage.removeItem(tokenKey);
}

/** An answer of the api that is not a success, with its error envelope's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = (error: ApiError) => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the api refuses the token (401); returns how to stop listening. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

interface ErrorEnvelope {
  error?: { code?: string; message?: string; details?: unknown };
}

async function failure(response: Response): Promise<ApiError> {
  let body: ErrorEnvelope = {};
  try {
    body = (await response.json()) as ErrorEnvelope;
  } catch {
    // Not the api's JSON (a proxy's page): the status says enough.
  }
  return new ApiError(
    response.status,
    body.error?.code ?? 'http_error',
    body.error?.message ?? `the api answered ${response.status} ${response.statusText}`,
    body.error?.details,
  );
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  signal?: AbortSignal;
  /** A token to try instead of the stored one (signing in). */
  token?: string;
}

/** Calls the api; resolves to its JSON, rejects with an ApiError naming what it said. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const token = options.token ?? storedToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ApiError(0, 'network', 'the api cannot be reached');
  }
  if (!response.ok) {
    const error = await failure(response);
    if (response.status === 401 && options.token === undefined) {
      forgetToken();
      for (const listener of unauthorizedListeners) listener(error);
    }
    throw error;
  }
  return (await response.json()) as T;
}

/** `GET path`, or undefined when the api answers 404 (a report not written yet, say). */
export async function apiOptional<T>(
  path: string,
  options: RequestOptions = {},
): Promise<T | undefined> {
  try {
    return await api<T>(path, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

export const enc = encodeURIComponent;
