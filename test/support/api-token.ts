import type { Store } from '../../activities/db';
import type { RelguardApp } from '../../api/app';
import type { Role } from '../../domain';

/** What tests call on the api: `request`, as Hono's app has it. */
export type TestApi = Pick<RelguardApp, 'request'>;

/** A token of `role` made in the store, as an admin would through POST /api/v1/tokens. */
export async function tokenFor(
  store: Pick<Store, 'tokens'>,
  role: Role,
  name = `test-${role}`,
): Promise<string> {
  return (await store.tokens.create({ name, role }, 'test')).token;
}

/** The api as a holder of `token` calls it: every request carries it unless it has its own. */
export function withToken(app: RelguardApp, token: string): TestApi {
  return {
    request: (input, init, env, executionCtx) => {
      const headers = new Headers(init?.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
      return app.request(input, { ...init, headers }, env, executionCtx);
    },
  };
}
