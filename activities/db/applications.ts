import type { Collection, Db } from 'mongodb';
import {
  ApplicationInput,
  conflict,
  machineCounts,
  notFound,
  type Application,
  type ApplicationUpdate,
} from '../../domain';
import { fromStored, isDuplicateKey, newId, toStored, type Stored } from './documents';

type ApplicationDocument = Stored<Application>;

const editableKeys = Object.keys(ApplicationInput.shape) as (keyof ApplicationInput)[];

/** The fields a person edits; the rest is relguard's bookkeeping. */
function editableFields(app: Application): Partial<ApplicationInput> {
  return Object.fromEntries(
    editableKeys.filter((key) => app[key] !== undefined).map((key) => [key, app[key]]),
  );
}

export class ApplicationRepository {
  private readonly collection: Collection<ApplicationDocument>;

  constructor(db: Db) {
    this.collection = db.collection<ApplicationDocument>('applications');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ name: 1 }, { unique: true, name: 'name_unique' });
  }

  /** Stores a new application; a taken name is a Conflict. */
  async create(input: ApplicationInput, now = Date.now()): Promise<Application> {
    const app: Application = {
      id: newId(),
      ...input,
      currentVersion: '',
      prev_version: '',
      ...machineCounts(input.machines),
      createdTime: now,
      updatedTime: now,
    };
    try {
      await this.collection.insertOne(toStored(app));
    } catch (error) {
      throw this.nameTakenOr(error, input.name);
    }
    return app;
  }

  async find(id: string): Promise<Application | undefined> {
    const doc = await this.collection.findOne({ _id: id });
    return doc === null ? undefined : fromStored<Application>(doc);
  }

  /** Like find, but a missing application is a NotFound. */
  async get(id: string): Promise<Application> {
    const app = await this.find(id);
    if (app === undefined) throw notFound('application', id);
    return app;
  }

  async findByName(name: string): Promise<Application | undefined> {
    const doc = await this.collection.findOne({ name });
    return doc === null ? undefined : fromStored<Application>(doc);
  }

  async list(): Promise<Application[]> {
    const docs = await this.collection.find({}).sort({ name: 1 }).toArray();
    return docs.map((doc) => fromStored<Application>(doc));
  }

  /**
   * Applies the fields of `update` and validates the result as a whole. The write only lands
   * if nobody changed the application since it was read (updatedTime is the version), so two
   * concurrent edits never silently lose one of them.
   */
  async update(id: string, update: ApplicationUpdate, now = Date.now()): Promise<Application> {
    const current = await this.get(id);
    const merged = ApplicationInput.parse({ ...editableFields(current), ...update });
    const changes = { ...merged, ...machineCounts(merged.machines), updatedTime: now };
    let updated: ApplicationDocument | null;
    try {
      updated = await this.collection.findOneAndUpdate(
        { _id: id, updatedTime: current.updatedTime },
        { $set: changes },
        { returnDocument: 'after' },
      );
    } catch (error) {
      throw this.nameTakenOr(error, merged.name);
    }
    if (updated === null) {
      if ((await this.find(id)) === undefined) throw notFound('application', id);
      throw conflict(`application ${id} was changed by someone else; read it again and retry`);
    }
    return fromStored<Application>(updated);
  }

  async delete(id: string): Promise<void> {
    const result = await this.collection.deleteOne({ _id: id });
    if (result.deletedCount === 0) throw notFound('application', id);
  }

  private nameTakenOr(error: unknown, name: string): unknown {
    return isDuplicateKey(error)
      ? conflict(`an application named "${name}" already exists`, { name })
      : error;
  }
}
