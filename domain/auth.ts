import { durationSeconds } from './duration';
import { openApi31, z } from './zod';

/** What a token may do, each role all that the one before may: read, release, manage. */
export const Role = z.enum(['viewer', 'deployer', 'admin']);
export type Role = z.infer<typeof Role>;

const rank: Record<Role, number> = { viewer: 0, deployer: 1, admin: 2 };

export function roleAllows(role: Role, needed: Role): boolean {
  return rank[role] >= rank[needed];
}

/** An api token as it is listed: never its secret, never its hash. */
export const ApiToken = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  createdTime: z.number().int(),
  created_by: z.string(),
  /** Written at most once a minute per token (see TokenRepository.recordUse): minute precision. */
  last_used_at: z.number().int().optional().openapi({
    description:
      'When the token was last used (epoch ms), to the minute: it is recorded at most once a minute',
  }),
  expires_at: z.number().int().optional().openapi({
    description:
      'When the token stops working (epoch ms); a request carrying it afterwards is 401 saying it expired. Absent: it never expires',
  }),
});
export type ApiToken = z.infer<typeof ApiToken>;

/** The longest a token may be made to last: ten years. */
export const maxTokenLifetimeSeconds = 10 * 365 * 86_400;

/**
 * Whole seconds, rounded up, in a duration that may have decimals (`1.5h`, `90.25`): a
 * token's expiry is a whole number of milliseconds (ApiToken.expires_at). The binary error
 * of a decimal (1.1h is 3960.0000000000005 s) is dropped first, so it adds no second.
 */
function wholeSecondsUp(seconds: number): number {
  return Math.ceil(Number(seconds.toFixed(6)));
}

/** A Prometheus duration (`90d`, `1h30m`, `1.5h`) or a number of seconds, as durationSeconds reads it. */
export const durationPattern =
  '^(?:[0-9]+(?:\\.[0-9]+)?|(?:[0-9]+(?:\\.[0-9]+)?(?:ms|s|m|h|d|w|y))+)$';

/** `90d`, `12h`, `1h30m` (a Prometheus duration) or a number of seconds, rounded up to whole seconds. */
const Lifetime = z
  .union([
    // 1 minute at least, as the transform checks (a positive() here would also write an
    // exclusiveMinimum 0 into the document beside the real bound).
    z.number().int().openapi({
      minimum: 60,
      maximum: maxTokenLifetimeSeconds,
      description: 'Seconds',
    }),
    z.string().openapi({
      pattern: durationPattern,
      description: 'A duration (`90d`, `12h`, `1h30m`, `1.5h`) or seconds, from 1m to 10y',
    }),
  ])
  .transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : durationSeconds(value);
    const seconds = parsed === undefined ? undefined : wholeSecondsUp(parsed);
    if (seconds === undefined || !(seconds >= 60) || seconds > maxTokenLifetimeSeconds) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a duration from 1m to 10y (e.g. 90d, 12h, or a number of seconds); got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return seconds;
  });

/** What String.prototype.trim removes, control characters aside. */
const blank = '[\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]';

/** TokenName's rules as one pattern, for the OpenAPI document. */
export const tokenNamePattern = `^(?!${blank}*$)[^\\u0000-\\u001f\\u007f-\\u009f]+$`;

/**
 * A token's name, as the audit, the deployments' actions and `requested_by` show it: 1 to 100
 * characters, none of them a control character (they would hide in a log or a terminal).
 */
export const TokenName = z
  .string()
  .min(1)
  .max(100)
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  .regex(/^[^\u0000-\u001f\u007f-\u009f]+$/u, 'must not contain control characters')
  .refine((name) => name.trim() !== '', 'must not be blank')
  .openapi({
    // zod-to-openapi would write the regex above with its flag glued on (`...$/u`), a pattern
    // nothing matches; this one also says "not blank" (all of it what trim() removes).
    pattern: tokenNamePattern,
    description:
      "The token's name, as the audit and the deployments show who acted: 1 to 100 characters (UTF-16 code units: a character beyond U+FFFF, an emoji say, counts two), no control character (U+0000-U+001F, U+007F-U+009F), not only spaces.",
  });

export const NewApiToken = z
  .strictObject({
    name: TokenName,
    role: Role,
    expires_in: Lifetime.optional().openapi({
      description:
        'How long the token works from now: a duration (`90d`, `12h`, `1h30m`) or seconds, 1 minute to 10 years (else 422 naming `expires_in`). Not with `expires_at`',
    }),
    expires_at: z.number().int().positive().optional().openapi({
      maximum: Number.MAX_SAFE_INTEGER,
      description:
        'When the token stops working (epoch ms), in the future: a time already past is 422 naming `expires_at`. Not with `expires_in`',
    }),
  })
  .superRefine((token, ctx) => {
    if (token.expires_in !== undefined && token.expires_at !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expires_at'],
        message: 'give either expires_in or expires_at, not both',
      });
    }
  })
  .openapi(
    openApi31({
      description:
        'A token to create. `expires_in` and `expires_at` are alternatives: giving both is 422 naming `expires_at`; with neither the token never expires.',
      oneOf: [
        { title: 'expires_in, or never', properties: { expires_at: false } },
        { title: 'expires_at', required: ['expires_at'], properties: { expires_in: false } },
      ],
    }),
  );
export type NewApiToken = z.infer<typeof NewApiToken>;

/** When a token made at `now` from `input` expires (epoch ms), or undefined for never. */
export function tokenExpiry(
  input: Pick<NewApiToken, 'expires_in' | 'expires_at'>,
  now: number,
): number | undefined {
  if (input.expires_in !== undefined) return now + input.expires_in * 1000;
  return input.expires_at;
}

/** Whether a token has expired at `now`. */
export function tokenExpired(token: Pick<ApiToken, 'expires_at'>, now: number): boolean {
  return token.expires_at !== undefined && token.expires_at <= now;
}

/** One write through the api: who, what (method and path, naming the resource), when, result. */
export const AuditEntry = z.object({
  id: z.string(),
  at: z.number().int(),
  /** The token's name. */
  actor: z.string(),
  token_id: z.string(),
  role: Role,
  method: z.string(),
  path: z.string(),
  status: z.number().int(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
