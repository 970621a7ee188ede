import { readFile } from 'node:fs/promises';
import { FailureType, RelguardError } from '../../domain/errors';
import type { PinnedHostKey } from '../db/ssh-host-keys';
import type { Logger } from '../logger';
import {
  hostKeyFingerprint,
  hostKeyType,
  knownKeysFor,
  normalizeFingerprint,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  type HostKeyAlgorithm,
  type KnownHostKey,
} from './known-hosts';

/**
 * `strict`: only keys the operator vouched for (a known_hosts file, a machine's pinned
 * fingerprint). `accept-new`: a machine nothing is known of has its first key pinned in MongoDB
 * (trust on first use, for labs); a changed key is refused as in strict mode.
 */
export const hostKeyPolicies = ['strict', 'accept-new'] as const;
export type HostKeyPolicy = (typeof hostKeyPolicies)[number];

/** Where keys trusted on first use are kept (SshHostKeyRepository). */
export interface HostKeyPins {
  find(host: string, port: number): Promise<PinnedHostKey | undefined>;
  pinFirst(key: PinnedHostKey): Promise<{ pinned: PinnedHostKey; created: boolean }>;
}

export interface HostKeyTrustOptions {
  policy: HostKeyPolicy;
  /** The global known_hosts file (SSH_KNOWN_HOSTS_FILE); a machine may name its own. */
  knownHostsFile?: string | undefined;
  /** Needed with accept-new. */
  pins?: HostKeyPins | undefined;
  logger: Logger;
}

/** The machine a connection is for, with its own trust settings. */
export interface HostKeyTarget {
  machineId: string;
  host: string;
  port: number;
  /** The machine's `ssh.known_hosts_path`, instead of the global file. */
  knownHostsPath?: string | undefined;
  /** The machine's `ssh.host_key_sha256`: the only key it may present. */
  hostKeySha256?: string | undefined;
}

/** What a connection to one machine checks the presented key against. */
export interface HostKeyCheck {
  /** Algorithms to offer, those of the known keys first. */
  algorithms: HostKeyAlgorithm[];
  /** Resolves when `blob` may be trusted; rejects with a BadConfig error that says why not. */
  verify(blob: Buffer): Promise<void>;
}

/** What vouches for a machine's key, in the order relguard asks. */
interface Expectation {
  keys: KnownHostKey[];
  /** Where the operator would change it, for the messages. */
  where: string;
}

const describeMachine = (target: HostKeyTarget) =>
  `machine ${target.machineId} (${target.host}:${target.port})`;

/**
 * Decides which ssh host keys relguard trusts. A machine's `ssh.host_key_sha256` decides alone
 * when set; otherwise the machine's known_hosts file, or the global one; a machine neither
 * knows is refused (strict) or pinned on first use (accept-new). Files are read for each
 * connection, so an edited known_hosts applies at once.
 */
export class HostKeyTrust {
  constructor(private readonly options: HostKeyTrustOptions) {
    if (options.policy === 'accept-new' && options.pins === undefined) {
      throw new Error('SSH_HOST_KEY_POLICY=accept-new needs a store to pin keys in');
    }
  }

  async prepare(target: HostKeyTarget): Promise<HostKeyCheck> {
    const expected = await this.expectation(target);
    if (expected.keys.length > 0 || this.options.policy === 'strict') {
      return {
        algorithms: preferredHostKeyAlgorithms(expected.keys.map((key) => key.type)),
        // A refusal is a rejection, never a throw inside ssh2's handshake.
        verify: (blob) =>
          new Promise<void>((resolve) => {
            judge(target, blob, expected);
            resolve();
          }),
      };
    }
    const pins = this.options.pins!;
    const pinned = await pins.find(target.host, target.port);
    const fromPin = (pin: PinnedHostKey): Expectation => ({
      keys: [
        {
          type: pin.key_type,
          fingerprint: pin.fingerprint,
          source: `the key pinned on first use by machine ${pin.machine_id} at ${new Date(pin.pinned_at).toISOString()}`,
          revoked: false,
        },
      ],
      where: `MongoDB's ssh_host_keys (document "${target.host.toLowerCase()}:${target.port}")`,
    });
    return {
      algorithms: preferredHostKeyAlgorithms(pinned === undefined ? [] : [pinned.key_type]),
      verify: async (blob) => {
        if (pinned !== undefined) return judge(target, blob, fromPin(pinned));
        const fingerprint = hostKeyFingerprint(blob);
        const keyType = hostKeyType(blob) ?? 'unknown';
        const { pinned: winner, created } = await pins.pinFirst({
          host: target.host.toLowerCase(),
          port: target.port,
          key_type: keyType,
          fingerprint,
          machine_id: target.machineId,
          pinned_at: Date.now(),
        });
        if (winner.fingerprint !== fingerprint) return judge(target, blob, fromPin(winner));
        // Another connection pinned this very key a moment ago, and said so.
        if (!created) return;
        this.options.logger.warn(
          {
            machine_id: target.machineId,
            host: target.host,
            port: target.port,
            fingerprint,
            key_type: keyType,
          },
          `trusted the ssh host key of ${describeMachine(target)} on first use (SSH_HOST_KEY_POLICY=accept-new) and pinned it; nothing proved this key is the machine's`,
        );
      },
    };
  }

  private async expectation(target: HostKeyTarget): Promise<Expectation> {
    if (target.hostKeySha256 !== undefined) {
      return {
        keys: [
          {
            type: 'any',
            fingerprint: normalizeFingerprint(target.hostKeySha256),
            source: `ssh.host_key_sha256 of machine ${target.machineId}`,
            revoked: false,
          },
        ],
        where: `ssh.host_key_sha256 of machine ${target.machineId}`,
      };
    }
    const file = target.knownHostsPath ?? this.options.knownHostsFile;
    if (file === undefined) {
      return { keys: [], where: 'a known_hosts file (SSH_KNOWN_HOSTS_FILE is unset)' };
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new RelguardError(
        FailureType.BadConfig,
        `cannot read the known_hosts file ${file} for ${describeMachine(target)}: ${(error as Error).message}; set ${target.knownHostsPath === undefined ? 'SSH_KNOWN_HOSTS_FILE' : `ssh.known_hosts_path of machine ${target.machineId}`} to a readable file`,
        { machine_id: target.machineId, known_hosts: file },
      );
    }
    const problems: string[] = [];
    const keys = knownKeysFor(parseKnownHosts(text, file, problems), target.host, target.port);
    if (problems.length > 0) {
      this.options.logger.warn(
        { known_hosts: file, problems },
        'skipped malformed known_hosts lines',
      );
    }
    return { keys, where: file };
  }
}

/** Trusted, or a BadConfig error naming the machine and the fingerprints. */
function judge(target: HostKeyTarget, blob: Buffer, expected: Expectation): void {
  const fingerprint = hostKeyFingerprint(blob);
  const keyType = hostKeyType(blob) ?? 'unknown type';
  const presented = `${fingerprint} (${keyType})`;
  const details = {
    machine_id: target.machineId,
    endpoint: `${target.host}:${target.port}`,
    fingerprint,
    key_type: keyType,
  };
  const revoked = expected.keys.find((key) => key.revoked && key.fingerprint === fingerprint);
  if (revoked !== undefined) {
    throw new RelguardError(
      FailureType.BadConfig,
      `${describeMachine(target)} presented the ssh host key ${presented}, which ${revoked.source} marks @revoked; relguard refuses to connect`,
      { ...details, revoked_by: revoked.source },
    );
  }
  const trusted = expected.keys.filter((key) => !key.revoked);
  if (trusted.some((key) => key.fingerprint === fingerprint)) return;
  if (trusted.length === 0) {
    throw new RelguardError(
      FailureType.BadConfig,
      `${describeMachine(target)} presented an unknown ssh host key ${presented}; relguard trusts only keys it knows (SSH_HOST_KEY_POLICY=strict). Check the fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add its key to ${expected.where} (ssh-keyscan -p ${target.port} ${target.host}) or set ssh.host_key_sha256 of the machine`,
      details,
    );
  }
  const expectedList = trusted.map((key) => `${key.fingerprint} (${key.type}, from ${key.source})`);
  throw new RelguardError(
    FailureType.BadConfig,
    `the ssh host key of ${describeMachine(target)} has changed: it presented ${presented}, relguard expects ${expectedList.join(' or ')}. Someone may be intercepting the connection; if the machine was reinstalled, check its new key on the machine and replace the old one in ${expected.where}`,
    { ...details, expected: trusted.map((key) => key.fingerprint) },
  );
}
