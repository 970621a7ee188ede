import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './documents';

/**
 * A host key trusted on first use (SSH_HOST_KEY_POLICY=accept-new): one per `host:port`,
 * whichever machine of whichever application reached it first.
 */
export interface PinnedHostKey {
  host: string;
  port: number;
  key_type: string;
  /** OpenSSH's "SHA256:…" fingerprint. */
  fingerprint: string;
  /** The machine whose connection pinned it. */
  machine_id: string;
  pinned_at: number;
}

type PinnedHostKeyDocument = PinnedHostKey & { _id: string };

const idOf = (host: string, port: number) => `${host.toLowerCase()}:${port}`;

/**
 * Host keys pinned on first use. The `_id` is `host:port`, so of two workers meeting a new
 * machine at once exactly one pins its key; the other reads the winner and is judged by it.
 */
export class SshHostKeyRepository {
  private readonly collection: Collection<PinnedHostKeyDocument>;

  constructor(db: Db) {
    this.collection = db.collection<PinnedHostKeyDocument>('ssh_host_keys');
  }

  async find(host: string, port: number): Promise<PinnedHostKey | undefined> {
    const doc = await this.collection.findOne({ _id: idOf(host, port) });
    if (doc === null) return undefined;
    const { _id, ...pinned } = doc;
    return pinned;
  }

  /**
   * Pins `key` unless a key is pinned for its host:port already; answers the pinned one, and
   * whether this call pinned it.
   */
  async pinFirst(key: PinnedHostKey): Promise<{ pinned: PinnedHostKey; created: boolean }> {
    try {
      await this.collection.insertOne({ _id: idOf(key.host, key.port), ...key });
      return { pinned: key, created: true };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const pinned = await this.find(key.host, key.port);
      if (pinned === undefined) throw error;
      return { pinned, created: false };
    }
  }

  /** Forgets the pinned key of host:port (a reinstalled machine); true if there was one. */
  async forget(host: string, port: number): Promise<boolean> {
    const result = await this.collection.deleteOne({ _id: idOf(host, port) });
    return result.deletedCount === 1;
  }
}
