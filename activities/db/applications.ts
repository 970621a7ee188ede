import type { Collection, Db } from 'mongodb';
import {
  ApplicationInput,
  conflict,
  machineCounts,
  notFound,
  type Application,
  type ApplicationUpdate,
  type Machine,
} from '../../domain';
import { DocumentWrites, type ChangeOutcome } from './document-writes';
import { fromStored, isDuplicateKey, newId, toStored, type Stored } from './documents';

type ApplicationDocument = Stored<Application>;

const editableKeys = Object.keys(ApplicationInput.shape) as (keyof ApplicationInput)[];

/** The fields a person edits; the rest is relguard's bookkeeping. */
function editableFields(app: Application): Partial<ApplicationInput> {
  return Object.fromEntries(
    editableKeys.filter((key) => app[key] !== undefined).map((key) => [key, app[key]]),
  );
}

/** What relguard itself writes of a machine: what it runs and how it is. */
export type MachineFields = Partial<
  Pick<Machine, 'version' | 'status' | 'status_reason' | 'status_since'>
>;

/** What claimRelease answers: the slot is the caller's, or whose it is. */
export type ReleaseClaim = { claimed: true } | { claimed: false; holder: string | undefined };

interface MachineChange {
  machineId: string;
  changes: MachineFields;
}

export class ApplicationRepository {
  private readonly collection: Collection<ApplicationDocument>;
  /** Every write of an application goes through here: see DocumentWrites for why. */
  private readonly writes = new DocumentWrites();
  private readonly writeMachines: (id: string, change: MachineChange) => Promise<Application>;
  /**
   * Each application as this process last wrote its machines: the next machine change tries
   * its compare-and-set on it before reading the application again. During a release the
   * worker is nearly the only writer, so the read is saved; any other write changes
   * `updatedTime`, the compare-and-set misses, and the change is made on a fresh read.
   */
  private readonly machinesWritten = new Map<string, Application>();

  constructor(db: Db) {
    this.collection = db.collection<ApplicationDocument>('applications');
    this.writeMachines = this.writes.merging((id, changes) =>
      this.applyMachineChanges(id, changes),
    );
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
      updated = await this.writes.exclusive(current.id, () =>
        this.collection.findOneAndUpdate(
          { _id: current.id, updatedTime: current.updatedTime },
          { $set: changes },
          { returnDocument: 'after' },
        ),
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
    this.machinesWritten.delete(id);
    const result = await this.collection.deleteOne({ _id: id });
    if (result.deletedCount === 0) throw notFound('application', id);
  }

  /**
   * Takes the application's one release slot for `deploymentId` in one conditional write, so
   * that of any number of requests racing for it exactly one gets it: the slot must be empty,
   * or (with `replacing`) still held by exactly that stale holder, so two requests that both
   * judged the same holder stale cannot both replace it. Taking it again is a no-op. A slot
   * held by someone else is answered with its holder (undefined: it was given back meanwhile).
   */
  async claimRelease(
    id: string,
    deploymentId: string,
    options: { replacing?: string; now?: number } = {},
  ): Promise<ReleaseClaim> {
    const holders = [
      { active_deployment_id: deploymentId },
      options.replacing === undefined
        ? { active_deployment_id: { $exists: false } }
        : { active_deployment_id: options.replacing },
    ];
    const claimed = await this.writes.exclusive(id, () =>
      this.collection.findOneAndUpdate(
        { _id: id, $or: holders },
        { $set: { active_deployment_id: deploymentId, updatedTime: options.now ?? Date.now() } },
      ),
    );
    if (claimed !== null) return { claimed: true };
    const app = await this.get(id);
    return { claimed: false, holder: app.active_deployment_id };
  }

  /** Gives the slot back, if `deploymentId` holds it; idempotent. */
  async releaseClaim(id: string, deploymentId: string, now = Date.now()): Promise<void> {
    await this.writes.exclusive(id, () =>
      this.collection.updateOne(
        { _id: id, active_deployment_id: deploymentId },
        { $unset: { active_deployment_id: '' }, $set: { updatedTime: now } },
      ),
    );
  }

  /**
   * Sets one machine's version and status and recomputes the counts. The machines of a batch
   * finish together: their changes are merged into one write (see DocumentWrites), which
   * answers each with the application as written.
   */
  async updateMachine(id: string, machineId: string, changes: MachineFields): Promise<Application> {
    return await this.writeMachines(id, { machineId, changes });
  }

  /**
   * A compare-and-set on the application as last written here, then on fresh reads, retried:
   * another process may write the application.
   */
  private async applyMachineChanges(
    id: string,
    changes: MachineChange[],
  ): Promise<ChangeOutcome<Application>[]> {
    for (let attempt = 0; ; attempt++) {
      const app =
        (attempt === 0 ? this.machinesWritten.get(id) : undefined) ?? (await this.get(id));
      const known = new Set(app.machines.map((machine) => machine.id));
      const machines = app.machines.map((machine) => {
        let changed = machine;
        for (const change of changes) {
          if (change.machineId === machine.id) changed = { ...changed, ...change.changes };
        }
        return changed;
      });
      const updatedTime = Math.max(Date.now(), app.updatedTime + 1);
      // The compare-and-set means the written document is the one read plus these fields, so
      // it is not fetched back: findOneAndUpdate made each machine's record 40% slower.
      const counts = machineCounts(machines);
      const result = await this.collection.updateOne(
        { _id: id, updatedTime: app.updatedTime },
        { $set: { machines, ...counts, updatedTime } },
      );
      if (result.matchedCount === 1) {
        const written: Application = { ...app, machines, ...counts, updatedTime };
        this.machinesWritten.set(id, written);
        return changes.map((change) =>
          known.has(change.machineId)
            ? { value: written }
            : { error: notFound(`machine of application ${app.name}`, change.machineId) },
        );
      }
      if (attempt >= 20) throw conflict(`application ${id} changes too often to update`);
    }
  }

  /** Records a finished release: `currentVersion` becomes `version`, the old one `prev_version`. */
  async recordRelease(id: string, version: string, now = Date.now()): Promise<Application> {
    for (let attempt = 0; ; attempt++) {
      const app = await this.get(id);
      if (app.currentVersion === version) return app;
      const updated = await this.writes.exclusive(id, () =>
        this.collection.findOneAndUpdate(
          { _id: id, updatedTime: app.updatedTime },
          {
            $set: {
              prev_version: app.currentVersion,
              currentVersion: version,
              updatedTime: Math.max(now, app.updatedTime + 1),
            },
          },
          { returnDocument: 'after' },
        ),
      );
      if (updated !== null) return fromStored<Application>(updated);
      if (attempt >= 20) throw conflict(`application ${id} changes too often to update`);
    }
  }

  private nameTaken(name: string) {
    return conflict(`an application named "${name}" already exists`, { name });
  }
}
