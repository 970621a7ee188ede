import type { Collection, Db } from 'mongodb';
import type { AuditEntry } from '../../domain';
import { fromStored, newId, type Stored } from './documents';

/** Every write made through the api, newest last; kept for people, never read by relguard. */
export class AuditRepository {
  private readonly collection: Collection<Stored<AuditEntry>>;

  constructor(db: Db) {
    this.collection = db.collection<Stored<AuditEntry>>('audit');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ at: -1 }, { name: 'at' });
  }

  async record(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.collection.insertOne({ _id: newId(), ...entry });
  }

  /** Newest first. */
  async list(limit = 100): Promise<AuditEntry[]> {
    const docs = await this.collection.find({}).sort({ at: -1 }).limit(limit).toArray();
    return docs.map((doc) => fromStored<AuditEntry>(doc));
  }
}
