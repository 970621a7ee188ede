import { createRelguardClient, type ErrorEnvelope, type RelguardClient } from '../../client';

/**
 * The api, called with the person's bearer token through the client generated from the api's
 * OpenAPI document (client/index.ts): each page's paths, parameters and bodies are checked
 * against the routes. The token lives in localStorage (it is what the person pasted, nothing
 * more); a 401 forgets it and brings the sign-in back.
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

/** What a failure's body may hold: the api's envelope, or anything a proxy sends. */
type MaybeEnvelope = { error?: Partial<ErrorEnvelope['error']> };

async function failure(response: Response): Promise<ApiError> {
  let body: MaybeEnvelope = {};
  try {
    body = (await response.json()) as MaybeEnvelope;
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

/**
 * Sends a request of the client; every answer but a success becomes an ApiError naming what
 * the api said, and the network failing an ApiError of status 0 (an abort stays an abort).
 * `signedIn`: the token is the stored one, which a 401 forgets, signing the person out.
 */
function send(signedIn: boolean) {
  return async (request: Request): Promise<Response> => {
    if (!request.headers.has('accept')) request.headers.set('accept', 'application/json');
    let response: Response;
    try {
      response = await fetch(request);
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw new ApiError(0, 'network', 'the api cannot be reached');
    }
    if (!response.ok) {
      const error = await failure(response);
      if (response.status === 401 && signedIn) {
        forgetToken();
        for (const listener of unauthorizedListeners) listener(error);
      }
      throw error;
    }
    return response;
  };
}

/** The api at this page's origin, with the stored token: `body(await api.GET(path, …))`. */
export const api: RelguardClient = createRelguardClient({
  baseUrl: '',
  token: storedToken,
  fetch: send(true),
});

/** The api with a token to try (signing in): a 401 is the answer, nobody is signed out. */
export function apiWithToken(token: string): RelguardClient {
  return createRelguardClient({ baseUrl: '', token, fetch: send(false) });
}

/** An answer's body: failures were thrown as ApiError, so a success without one is wrong. */
export function body<T>(answer: { data?: T; response: Response }): T {
  if (answer.data === undefined) {
    throw new ApiError(
      answer.response.status,
      'bad_response',
      `the api answered ${answer.response.status} without a body`,
    );
  }
  return answer.data;
}

/** The body, or undefined when the api answers 404 (a report not written yet, say). */
export async function optional<T>(
  answer: Promise<{ data?: T; response: Response }>,
): Promise<T | undefined> {
  try {
    return body(await answer);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

export const enc = encodeURIComponent;
