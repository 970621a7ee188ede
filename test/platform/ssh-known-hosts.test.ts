import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  hostKeyFingerprint,
  knownHostsName,
  knownKeysFor,
  normalizeFingerprint,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from '../../activities/platform/known-hosts';

/** Two real public keys (ssh-keygen -t ed25519), as known_hosts lines carry them. */
const keyA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const blobA = Buffer.from(keyA.split(' ')[1]!, 'base64');
const fingerprintA = hostKeyFingerprint(blobA);

/** A `|1|salt|hash` name as `ssh-keygen -H` writes it. */
function hashed(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

const matches = (text: string, host: string, port: number) =>
  knownKeysFor(parseKnownHosts(text, 'kh'), host, port).map((key) => key.source);

describe('known_hosts parsing', () => {
  it('computes the fingerprint OpenSSH prints: base64 SHA-256 of the blob, unpadded', () => {
    const expected = createHash('sha256').update(blobA).digest('base64').replace(/=+$/, '');
    expect(fingerprintA).toBe(`SHA256:${expected}`);
    expect(fingerprintA).not.toContain('=');
    expect(normalizeFingerprint(`${expected}=`)).toBe(fingerprintA);
  });

  it('names a host bare on port 22 and as [host]:port elsewhere', () => {
    expect(knownHostsName('Web1.Example.com', 22)).toBe('web1.example.com');
    expect(knownHostsName('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
    expect(matches(`web1.example.com ${keyA}`, 'web1.example.com', 22)).toEqual(['kh:1']);
    expect(matches(`web1.example.com ${keyA}`, 'web1.example.com', 2222)).toEqual([]);
    expect(matches(`[web1.example.com]:2222 ${keyA}`, 'web1.example.com', 2222)).toEqual(['kh:1']);
    expect(matches(`[web1.example.com]:2222 ${keyA}`, 'web1.example.com', 22)).toEqual([]);
  });

  it('matches hashed names only for the very host and port', () => {
    const text = `${hashed('[10.0.0.5]:2222')} ${keyA}\n${hashed('10.0.0.6')} ${keyA}\n`;
    expect(matches(text, '10.0.0.5', 2222)).toEqual(['kh:1']);
    expect(matches(text, '10.0.0.5', 22)).toEqual([]);
    expect(matches(text, '10.0.0.6', 22)).toEqual(['kh:2']);
  });

  it('reads comma lists, wildcards and negations as ssh does', () => {
    const text = [
      '# the web tier',
      `web?.example.com,*.db.example.com,!db9.db.example.com ${keyA} tier key`,
      `[*.lab]:2200 ${keyA}`,
    ].join('\n');
    expect(matches(text, 'web1.example.com', 22)).toEqual(['kh:2']);
    expect(matches(text, 'web10.example.com', 22)).toEqual([]);
    expect(matches(text, 'db1.db.example.com', 22)).toEqual(['kh:2']);
    expect(matches(text, 'db9.db.example.com', 22)).toEqual([]);
    expect(matches(text, 'box.lab', 2200)).toEqual(['kh:3']);
    // A dot in a pattern is a dot, not any character.
    expect(matches(text, 'web1xexample.com', 22)).toEqual([]);
  });

  it('skips malformed lines and certificate authorities, and keeps @revoked ones flagged', () => {
    const problems: string[] = [];
    const lines = parseKnownHosts(
      [
        `host1 ssh-ed25519 AAAAnotakey`,
        `host1 ssh-rsa ${keyA.split(' ')[1]}`,
        `@cert-authority *.example.com ${keyA}`,
        `@revoked host1 ${keyA}`,
        'host1',
      ].join('\n'),
      'kh',
      problems,
    );
    expect(problems.map((problem) => problem.split(':')[1])).toEqual(['1', '2', '5']);
    expect(lines).toHaveLength(1);
    expect(knownKeysFor(lines, 'host1', 22)).toEqual([
      { type: 'ssh-ed25519', fingerprint: fingerprintA, source: 'kh:4', revoked: true },
    ]);
  });

  it('asks for the known key types first, rsa under its three algorithm names', () => {
    expect(preferredHostKeyAlgorithms(['ssh-rsa']).slice(0, 3)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    expect(preferredHostKeyAlgorithms(['ecdsa-sha2-nistp256'])[0]).toBe('ecdsa-sha2-nistp256');
    expect(preferredHostKeyAlgorithms([])).toHaveLength(7);
    expect(preferredHostKeyAlgorithms(['ssh-ed25519', 'sk-ssh-ed25519@openssh.com'])).toHaveLength(
      7,
    );
  });
});
