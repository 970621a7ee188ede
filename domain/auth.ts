import { z } from './zod';

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
});
export type ApiToken = z.infer<typeof ApiToken>;

export const NewApiToken = z.strictObject({
  name: z.string().min(1).max(100),
  role: Role,
});
export type NewApiToken = z.infer<typeof NewApiToken>;

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
