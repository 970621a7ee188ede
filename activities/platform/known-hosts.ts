import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
// ssh2 is CommonJS: Node's ESM loader finds `Client` among its named exports but not `utils`.
import ssh2 from 'ssh2';

/**
 * OpenSSH's known_hosts format, read the way ssh reads it: plain and hashed (`|1|salt|hash`)
 * host names, `[host]:port` for ports other than 22, comma-separated patterns with `*`, `?`
 * and `!` negation, several keys (and key types) per host, `@revoked` keys. `@cert-authority`
 * lines are skipped: relguard does not verify host certificates.
 */

/** A host key relguard knows for a machine, and where it learnt it. */
export interface KnownHostKey {
  /** The key type as the line names it: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa... */
  type: string;
  /** OpenSSH's "SHA256:…" fingerprint of the key blob. */
  fingerprint: string;
  /** `file:line`, or what else vouches for the key. */
  source: string;
  revoked: boolean;
}

interface KnownHostsLine extends KnownHostKey {
  patterns: string;
}

/** OpenSSH's "SHA256:…" form: base64 of the SHA-256 of the key blob, without padding. */
export function hostKeyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The same fingerprint however it was written: with or without the prefix and padding. */
export function normalizeFingerprint(text: string): string {
  const bare = text.trim().replace(/^SHA256:/i, '');
  return `SHA256:${bare.replace(/=+$/, '')}`;
}

/** The type a key blob names in its first field (RFC 4253 §6.6), or undefined if it is garbled. */
export function hostKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** How ssh names a host in known_hosts: bare on port 22, `[host]:port` elsewhere. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${source.replace(/\?/g, '.')}$`, 'i');
}

function hashedNameMatches(entry: string, name: string): boolean {
  const [, magic, salt, hash] = entry.split('|');
  if (magic !== '1' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a line's host field names `name`; a matching negated pattern vetoes the line. */
function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedNameMatches(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    if (glob === '' || !globToRegExp(glob).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/**
 * The usable lines of a known_hosts file; `problems` gets the lines skipped as malformed
 * (`file:line: why`), as ssh skips them.
 */
export function parseKnownHosts(
  text: string,
  file: string,
  problems: string[] = [],
): KnownHostsLine[] {
  const lines: KnownHostsLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const source = `${file}:${index + 1}`;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) marker = fields.shift();
    if (marker === '@cert-authority') return;
    const [patterns, type, base64] = fields;
    if (
      (marker !== undefined && marker !== '@revoked') ||
      patterns === undefined ||
      type === undefined ||
      base64 === undefined
    ) {
      problems.push(`${source}: not "[@revoked] hosts key-type base64-key"`);
      return;
    }
    const parsed = ssh2.utils.parseKey(`${type} ${base64}`);
    if (parsed instanceof Error) {
      problems.push(`${source}: ${parsed.message}`);
      return;
    }
    const blob = parsed.getPublicSSH();
    if (hostKeyType(blob) !== type) {
      problems.push(`${source}: the key is not of type ${type}`);
      return;
    }
    lines.push({
      patterns,
      type,
      fingerprint: hostKeyFingerprint(blob),
      source,
      revoked: marker === '@revoked',
    });
  });
  return lines;
}

/** The keys of `lines` that apply to host:port (revoked ones included, flagged). */
export function knownKeysFor(
  lines: readonly KnownHostsLine[],
  host: string,
  port: number,
): KnownHostKey[] {
  const name = knownHostsName(host, port);
  return lines
    .filter((line) => patternsMatch(line.patterns, name))
    .map(({ type, fingerprint, source, revoked }) => ({ type, fingerprint, source, revoked }));
}

/**
 * The server host key algorithms ssh2 offers, in its own order; a key type already known for a
 * machine goes first so that the server shows that key rather than another one it also has.
 */
const hostKeyAlgorithms = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;
export type HostKeyAlgorithm = (typeof hostKeyAlgorithms)[number];

export function preferredHostKeyAlgorithms(knownTypes: readonly string[]): HostKeyAlgorithm[] {
  const first = knownTypes.flatMap((type) =>
    type === 'ssh-rsa'
      ? (['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] as const)
      : hostKeyAlgorithms.filter((algorithm) => algorithm === type),
  );
  return [...new Set([...first, ...hostKeyAlgorithms])];
}
