/**
 * Creates an api token straight in MongoDB: the first admin token, which no api call can make
 * (they all need a token). `temporal-dev.sh up` runs it once for the local stack:
 *
 *   node --import tsx api/create-token.ts --name local-admin --role admin --out .relguard/token
 *
 * With --out the token goes into that file (mode 600), and nothing is done when the file
 * exists already; without it, the token is printed once on stdout. `--expires-in 90d` makes
 * it stop working after that long (a duration or seconds; default never).
 */
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ensureIndexes, openStore } from '../activities/db';
import { NewApiToken } from '../domain';
import { loadConfig } from '../domain/config';
import { keepTokenFilePrivate, writeTokenFile } from './token-file';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    role: { type: 'string', default: 'admin' },
    out: { type: 'string' },
    'expires-in': { type: 'string' },
  },
});
const input = NewApiToken.safeParse({
  name: values.name,
  role: values.role,
  ...(values['expires-in'] === undefined ? {} : { expires_in: values['expires-in'] }),
});
if (!input.success) {
  for (const issue of input.error.issues) {
    console.error(`${issue.path.join('.') || 'arguments'}: ${issue.message}`);
  }
  console.error(
    'usage: create-token --name NAME [--role viewer|deployer|admin] [--expires-in 90d] [--out FILE]',
  );
  process.exit(1);
}
const out = values.out;
if (
  out !== undefined &&
  (await access(out).then(
    () => true,
    () => false,
  ))
) {
  const had = await keepTokenFilePrivate(out);
  if (had !== undefined) {
    console.log(`${out} was mode ${had.toString(8)}, readable by others: made it 600`);
  }
  console.log(`${out} exists: keeping its token`);
  process.exit(0);
}

const config = loadConfig(process.env);
const store = openStore({
  uri: config.MONGODB_URI,
  dbName: config.MONGODB_DB,
  timeoutMs: config.MONGODB_TIMEOUT_MS,
});
try {
  await ensureIndexes(store);
  const created = await store.tokens.create(input.data, 'create-token');
  if (out === undefined) {
    console.log(created.token);
  } else {
    await writeTokenFile(out, created.token);
    console.log(`wrote the ${created.role} token ${created.name} to ${out}`);
  }
} finally {
  await store.close();
}
