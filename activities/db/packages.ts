import type { Collection, Db } from 'mongodb';
import { conflict, type PackageRecord } from '../../domain';
import { fromStored, isDuplicateKey, newId, toStored, type Stored } from './documents';

type PackageDocument = Stored<PackageRecord>;

/** Packages, one per application version: a version is built once and reused. */
export class PackageRepository {
  private readonly collection: Collection<PackageDocument>;

  constructor(db: Db) {
    this.collection = db.collection<PackageDocument>('packages');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex(
      { app_id: 1, version: 1 },
      { unique: true, name: 'app_version_unique' },
    );
  }

  /** Records a package; a second package for the same version is a Conflict. */
  async create(record: Omit<PackageRecord, 'id'>): Promise<PackageRecord> {
    const stored: PackageRecord = { id: newId(), ...record };
    try {
      await this.collection.insertOne(toStored(stored));
    } catch (error) {
      if (isDuplicateKey(error)) {
        throw conflict(`${record.app_name} already has a package for ${record.version}`, {
          version: record.version,
        });
      }
      throw error;
    }
    return stored;
  }

  async findByVersion(appId: string, version: string): Promise<PackageRecord | undefined> {
    const doc = await this.collection.findOne({ app_id: appId, version });
    return doc === null ? undefined : fromStored<PackageRecord>(doc);
  }

  /** Newest first. */
  async listByApp(appId: string): Promise<PackageRecord[]> {
    const docs = await this.collection.find({ app_id: appId }).sort({ created_at: -1 }).toArray();
    return docs.map((doc) => fromStored<PackageRecord>(doc));
  }
}
