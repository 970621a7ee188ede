import type { NotifyChannel } from '../../domain/alert';
import { FailureType, RelguardError } from '../../domain/errors';
import type { Notifier } from './types';

/** What a notifier takes from outside, so that tests can stand in for the network and the clock. */
export interface NotifierDeps {
  fetch?: typeof fetch;
  /** Epoch ms, for the signatures' timestamps. */
  now?: () => number;
  /** How long one delivery may take before it counts as unavailable. Default 10 s. */
  timeoutMs?: number;
}

export interface Answer {
  status: number;
  text: string;
}

/**
 * Answers that no retry fixes: a message the service cannot read, a URL or token that is wrong,
 * revoked or gone. A redirect counts too: a webhook that moved must be reconfigured, and
 * following it would hand the alert to a host nobody configured.
 */
const configStatuses = new Set([400, 401, 403, 404, 410]);

const defaultTimeoutMs = 10_000;

/** How much of a service's own error text goes into a message: enough to act on, never a page. */
const serviceMessageLimit = 300;

/**
 * The one HTTP edge of a notifier: posts to the channel's URL and turns every way a delivery can
 * go wrong into a RelguardError whose message names the service and the host but never the
 * URL's path or query (where the services put their tokens) nor the signing secret.
 */
export class Endpoint {
  /** The channel's URL as it may be shown: scheme and host only. */
  readonly where: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly secrets: string[];

  constructor(
    readonly service: Notifier['type'],
    private readonly channel: NotifyChannel,
    deps: NotifierDeps,
  ) {
    this.where = describeUrl(channel.url);
    this.fetch = deps.fetch ?? globalThis.fetch;
    this.timeoutMs = deps.timeoutMs ?? defaultTimeoutMs;
    this.secrets = secretsOf(channel);
  }

  get url(): string {
    return this.channel.url;
  }

  /** POSTs the body and returns the answer whatever its status; throws only if none came. */
  async post(
    body: string,
    options: { url?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal =
      options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    try {
      const response = await this.fetch(options.url ?? this.channel.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
        body,
        signal,
        redirect: 'manual',
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      // A cancelled activity must end as cancelled, not as a delivery that may be retried.
      if (options.signal?.aborted === true) throw options.signal.reason;
      if (timeout.aborted) {
        throw this.failure(
          FailureType.Unavailable,
          `did not answer within ${this.timeoutMs / 1000} s`,
          {},
        );
      }
      throw this.failure(FailureType.Unavailable, `is unreachable: ${describeError(error)}`, {});
    }
  }

  /** Throws for an answer outside 2xx, with the service's own words from `messageOf`. */
  expectSuccess(answer: Answer, messageOf: (text: string) => string = (text) => text): void {
    if (answer.status >= 200 && answer.status < 300) return;
    const type =
      configStatuses.has(answer.status) || (answer.status >= 300 && answer.status < 400)
        ? FailureType.BadConfig
        : FailureType.Unavailable;
    throw this.refused(type, { status: answer.status, message: messageOf(answer.text) });
  }

  /**
   * For the services that answer 200 with a code of their own, 0 for success: throws their
   * refusal, BadConfig for the codes that no retry can fix (a bad token or signature).
   */
  expectCode(
    answer: Answer,
    code: unknown,
    message: string | undefined,
    configCodes: ReadonlySet<number>,
  ): void {
    if (code === 0) return;
    throw this.refused(
      typeof code === 'number' && configCodes.has(code)
        ? FailureType.BadConfig
        : FailureType.Unavailable,
      {
        status: answer.status,
        ...(typeof code === 'number' || typeof code === 'string' ? { code } : {}),
        message: message ?? `unexpected answer: ${answer.text}`,
      },
    );
  }

  /** A delivery the service answered but refused, in the service's words. */
  refused(
    type: FailureType,
    refusal: { status: number; code?: number | string; message: string },
  ): RelguardError {
    const code = refusal.code === undefined ? '' : ` code ${refusal.code}`;
    const words = oneLine(refusal.message);
    const message = `refused the alert (HTTP ${refusal.status}${code})${words === '' ? '' : `: ${clip(words)}`}`;
    return this.failure(type, message, {
      status: refusal.status,
      ...(refusal.code === undefined ? {} : { code: refusal.code }),
    });
  }

  /** Removes the channel's token and secret from text that came from elsewhere. */
  redact(text: string): string {
    let redacted = redactUrls(text);
    for (const secret of this.secrets) redacted = redacted.split(secret).join('[redacted]');
    return redacted;
  }

  private failure(
    type: FailureType,
    what: string,
    details: Record<string, unknown>,
  ): RelguardError {
    const hint = type === FailureType.BadConfig ? "; check the channel's URL and secret" : '';
    return new RelguardError(type, this.redact(`${this.service} ${this.where} ${what}${hint}`), {
      service: this.service,
      host: this.where,
      ...details,
    });
  }
}

/** Shortens every URL in the text to its scheme and host. */
export function redactUrls(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>]+/gi, (url) => describeUrl(url));
}

/** `https://open.feishu.cn/…`: the host says which service, the rest may be a credential. */
export function describeUrl(url: string): string {
  const origin = urlOrigin(url);
  return origin === undefined ? '(an invalid URL)' : `${origin}/…`;
}

/** `https://open.feishu.cn`: the URL's scheme and host, never its path, query or user info. */
export function urlOrigin(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return undefined;
  }
}

/**
 * What must never be shown: the secret, the whole URL, and the parts of it that look like
 * credentials (query values, user info, and path segments long enough to be ids or tokens, such
 * as Slack's T…/B…/token and Feishu's hook id; words like `webhook` or `open-apis` are kept).
 */
function secretsOf(channel: NotifyChannel): string[] {
  const secrets = new Set<string>([channel.url]);
  if (channel.secret !== undefined) secrets.add(channel.secret);
  const add = (value: string): void => {
    secrets.add(value);
    secrets.add(safeDecode(value));
    secrets.add(encodeURIComponent(value));
  };
  try {
    const parsed = new URL(channel.url);
    for (const [, value] of parsed.searchParams) if (value.length >= 4) add(value);
    if (parsed.username !== '') add(parsed.username);
    if (parsed.password !== '') add(parsed.password);
    for (const segment of parsed.pathname.split('/')) {
      if (segment.length >= 16 || (segment.length >= 8 && /\d/.test(segment))) add(segment);
    }
  } catch {
    // An invalid URL cannot have been sent; the whole of it is already listed.
  }
  // Longest first, so that a token is never half-replaced by a shorter piece of itself.
  return [...secrets].filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** fetch's own message is "fetch failed"; the reason is in its cause. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error && cause.message !== '') return `${error.message} (${cause.message})`;
  return error.message;
}

function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

function clip(value: string): string {
  return value.length <= serviceMessageLimit ? value : `${value.slice(0, serviceMessageLimit)}…`;
}

/** A JSON object from a service's answer, or undefined when the answer is not one. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
