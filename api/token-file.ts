import { chmod, lstat, writeFile } from 'node:fs/promises';

/** Group and others: a token file grants nothing to them. */
const sharedBits = 0o077;

/**
 * Writes a new api token file readable by its owner alone (mode 0600, whatever the umask),
 * refusing to follow or replace anything already at `file` (a link planted there included).
 */
export async function writeTokenFile(file: string, token: string): Promise<void> {
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
}

/**
 * An existing token file kept as it is, but for its mode: one that group or others may read
 * (an older relguard, a copy) is made 0600. Returns the mode it had when it was changed.
 */
export async function keepTokenFilePrivate(file: string): Promise<number | undefined> {
  const info = await lstat(file);
  if (!info.isFile()) {
    throw new Error(`${file} is not a regular file: refusing to use it as a token file`);
  }
  const mode = info.mode & 0o777;
  if ((mode & sharedBits) === 0) return undefined;
  await chmod(file, 0o600);
  return mode;
}
