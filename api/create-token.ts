/**
 * Creates an api token straight in MongoDB: the first admin token, which no api call can make
 * (they all need a token). `temporal-dev.sh up` runs it once for the local stack:
 *
 *   node --import tsx api/create-token.ts --name local-admin --role admin --out .relguard/token
 *
 * With --out the token goes into that file (mode 600), and nothing is done when the file
 * exists already; without it, the token is printed once on stdout.
 */
import { writeFile, access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ensureIndexes, openStore } from '../activities/db';
import { Role } from '../domain';
import { loadConfig } from '../domain/config';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    role: { type: 'string', default: 'admin' },
    out: { type: 'string' },
  },
});
const role = Role.safeParse(values.role);
if (values.name === undefined || !role.success) {
  console.error('usage: create-token --name NAME [--role viewer|deployer|admin] [--out FILE]');
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
  const created = await store.tokens.create({ name: values.name, role: role.data }, 'create-token');
  if (out === undefined) {
    console.log(created.token);
  } else {
    await writeFile(out, `${created.token}\n`, { mode: 0o600, flag: 'wx' });
    console.log(`wrote the ${created.role} token ${created.name} to ${out}`);
  }
} finally {
  await store.close();
}
