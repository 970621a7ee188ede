import type { ApiToken, NewApiToken } from '../client';
import { body, type ApiClient } from './api-client';
import { printJson, say, stringOption, type CommandSpec } from './context';
import { ApiError, ExitCode } from './errors';
import { formatTime, table } from './format';

const never = '-';

function formatTokens(tokens: ApiToken[], now: number): string[] {
  if (tokens.length === 0) return ['no tokens'];
  return table(
    ['NAME', 'ROLE', 'CREATED', 'LAST USED', 'EXPIRES', 'ID'],
    tokens.map((token) => [
      token.name,
      token.role,
      formatTime(token.createdTime),
      token.last_used_at === undefined ? 'never' : formatTime(token.last_used_at),
      token.expires_at === undefined
        ? never
        : `${formatTime(token.expires_at)}${token.expires_at <= now ? ' (expired)' : ''}`,
      token.id,
    ]),
  );
}

/**
 * The token `ref` names: its name, or its id. A name several tokens share is refused, naming
 * their ids, rather than revoking a guess.
 */
async function resolveToken(client: ApiClient, ref: string): Promise<ApiToken> {
  const { items } = body(await client.GET('/api/v1/tokens'));
  const byId = items.find((token) => token.id === ref);
  if (byId !== undefined) return byId;
  const named = items.filter((token) => token.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length === 0) {
    throw new ApiError(
      404,
      'not_found',
      `no token named "${ref}" (relguard token list shows them)`,
    );
  }
  throw new ApiError(
    409,
    'ambiguous',
    `${named.length} tokens are named "${ref}" (ids ${named.map((token) => token.id).join(', ')}): revoke one by its id`,
  );
}

const list: CommandSpec = {
  group: 'token',
  name: 'list',
  args: [],
  summary: 'the api tokens: name, role, created, last used (to the minute), expiry; never a secret',
  description: 'Needs an admin token.',
  async run(context) {
    const { items } = body(await context.client.GET('/api/v1/tokens'));
    if (context.json) printJson(context, items);
    else say(context, ...formatTokens(items, context.now()));
    return ExitCode.ok;
  },
};

const revoke: CommandSpec = {
  group: 'token',
  name: 'revoke',
  args: ['<token>'],
  summary: 'revoke a token by name or id: every request carrying it is 401 from then on',
  description: 'Needs an admin token. A name several tokens share is refused: give the id.',
  async run(context, input) {
    const token = await resolveToken(context.client, input.args[0]!);
    await context.client.DELETE('/api/v1/tokens/{id}', { params: { path: { id: token.id } } });
    if (context.json) printJson(context, { revoked: token });
    else say(context, `revoked ${token.role} token ${token.name} (${token.id})`);
    return ExitCode.ok;
  },
};

const create: CommandSpec = {
  group: 'token',
  name: 'create',
  args: ['<name>'],
  summary: 'make a token and print its secret, once',
  description:
    'Needs an admin token. The secret goes to stdout alone (the rest to stderr), so that `relguard token create ci --role deployer > ci.token` keeps it in a file.',
  options: {
    role: {
      type: 'string',
      value: 'ROLE',
      description: 'viewer, deployer or admin',
      required: true,
    },
    'expires-in': {
      type: 'string',
      value: 'DURATION',
      description: 'how long it works: 90d, 12h, 1h30m (default: it never expires)',
    },
  },
  async run(context, input) {
    const expiresIn = stringOption(input, 'expires-in');
    const created = body(
      await context.client.POST('/api/v1/tokens', {
        body: {
          name: input.args[0]!,
          // As typed: the api refuses a role it does not know, naming the field.
          role: stringOption(input, 'role') as NewApiToken['role'],
          ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
        },
      }),
    );
    if (context.json) {
      printJson(context, created);
      return ExitCode.ok;
    }
    context.io.stdout.write(`${created.token}\n`);
    context.io.stderr.write(
      `made the ${created.role} token ${created.name} (${created.id})${
        created.expires_at === undefined ? '' : `, expiring ${formatTime(created.expires_at)}`
      }: the secret above is shown this once\n`,
    );
    return ExitCode.ok;
  },
};

export const tokenCommands: CommandSpec[] = [list, create, revoke];
