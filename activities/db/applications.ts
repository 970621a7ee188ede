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
      throw isDuplicateKey(error) ? this.nameTaken(input.name) : error;
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

  /** Applies the fields of `update` to the stored application; see updateFrom. */
  async update(id: string, update: ApplicationUpdate, now = Date.now()): Promise<Application> {
    return await this.updateFrom(await this.get(id), update, now);
  }

  /**
   * Applies the fields of `update` to `current` (as read before) and validates the result as
   * a whole. The write lands only if nobody changed the application since `current` was read
   * (updatedTime is its version and only grows), so two concurrent edits never silently lose
   * one of them: the later one is a Conflict.
   */
  async updateFrom(
    current: Application,
    update: ApplicationUpdate,
    now = Date.now(),
  ): Promise<Application> {
    const merged = ApplicationInput.parse({ ...editableFields(current), ...update });
    if (merged.name !== current.name && (await this.findByName(merged.name)) !== undefined) {
      throw this.nameTaken(merged.name);
    }
    const changes = {
      ...merged,
      ...machineCounts(merged.machines),
      updatedTime: Math.max(now, current.updatedTime + 1),
    };
    let updated: ApplicationDocument | null;
    try {
      updated = await this.collection.findOneAndUpdate(
        { _id: current.id, updatedTime: current.updatedTime },
        { $set: changes },
        { returnDocument: 'after' },
      );
    } catch (error) {
      throw isDuplicateKey(error) ? this.nameTaken(merged.name) : error;
    }
    if (updated === null) {
      if ((await this.find(current.id)) === undefined) throw notFound('application', current.id);
      throw conflict(
        `application ${current.id} was changed by someone else; read it again and retry`,
      );
    }
    return fromStored<Application>(updated);
  }

  async delete(id: string): Promise<void> {
    const result = await this.collection.deleteOne({ _id: id });
    if (result.deletedCount === 0) throw notFound('application', id);
  }

  private nameTaken(name: string) {
    return conflict(`an application named "${name}" already exists`, { name });
  }
}
