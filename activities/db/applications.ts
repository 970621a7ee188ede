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

/** One claim of an application's release slot (collection `release_claims`), never rewritten but for `released_at`. */
interface ReleaseClaimRecord {
  /** `<appId>:<generation>`: the primary key lets one claim of each generation in. */
  _id: string;
  app_id: string;
  generation: number;
  deployment_id: string;
  claimed_at: number;
  /** Set when the release gives the slot back. */
  released_at?: number;
}

interface MachineChange {
  machineId: string;
  changes: MachineFields;
}

export class ApplicationRepository {
  private readonly collection: Collection<ApplicationDocument>;
  private readonly claims: Collection<ReleaseClaimRecord>;
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
    this.claims = db.collection<ReleaseClaimRecord>('release_claims');
    this.writeMachines = this.writes.merging((id, changes) =>
      this.applyMachineChanges(id, changes),
    );
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ name: 1 }, { unique: true, name: 'name_unique' });
    await this.claims.createIndex({ app_id: 1, generation: -1 }, { name: 'app_generation' });
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
    await this.claims.deleteMany({ app_id: id });
  }

  /**
   * Takes the application's one release slot for `deploymentId`. The slot is a chain of claim
   * records, `<appId>:<generation>`, inserted and never rewritten: a claim inserts the record
   * after the latest one, and the primary key lets exactly one insert of a generation succeed,
   * however many api processes race for it. (A conditional update cannot do this on FerretDB
   * v1, which applies an update as an unisolated read-change-write of the document: two
   * processes both saw the slot empty and both took it.) The latest record must be given back
   * (releaseClaim), or be exactly the stale holder `replacing` the caller judged, so that of
   * many requests that judged the same holder stale one replaces it. Taking it again is a
   * no-op. A slot held by someone else is answered with its holder. `active_deployment_id` on
   * the application mirrors the slot for readers.
   */
  async claimRelease(
    id: string,
    deploymentId: string,
    options: { replacing?: string; now?: number } = {},
  ): Promise<ReleaseClaim> {
    const now = options.now ?? Date.now();
    const latest = await this.latestClaim(id);
    const holder = latest?.released_at === undefined ? latest?.deployment_id : undefined;
    if (holder === deploymentId) return { claimed: true };
    if (holder !== undefined && holder !== options.replacing) return { claimed: false, holder };
    const generation = latest === undefined ? 0 : latest.generation + 1;
    try {
      await this.claims.insertOne({
        _id: `${id}:${generation}`,
        app_id: id,
        generation,
        deployment_id: deploymentId,
        claimed_at: now,
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const winner = await this.latestClaim(id);
      return { claimed: false, holder: winner?.deployment_id };
    }
    await this.writes.exclusive(id, () =>
      this.collection.updateOne(
        { _id: id },
        { $set: { active_deployment_id: deploymentId, updatedTime: now } },
      ),
    );
    return { claimed: true };
  }

  /** The release that holds the application's slot, as the claim records have it. */
  async releaseHolder(id: string): Promise<string | undefined> {
    const latest = await this.latestClaim(id);
    return latest?.released_at === undefined ? latest?.deployment_id : undefined;
  }

  /** Gives the slot back, if `deploymentId` holds it; idempotent. */
  async releaseClaim(id: string, deploymentId: string, now = Date.now()): Promise<void> {
    await this.claims.updateMany(
      { app_id: id, deployment_id: deploymentId, released_at: { $exists: false } },
      { $set: { released_at: now } },
    );
    await this.writes.exclusive(id, () =>
      this.collection.updateOne(
        { _id: id, active_deployment_id: deploymentId },
        { $unset: { active_deployment_id: '' }, $set: { updatedTime: now } },
      ),
    );
  }

  /**
   * The newest claim record. An application whose release started before the records existed
   * has only `active_deployment_id`: that is its claim, generation -1.
   */
  private async latestClaim(id: string): Promise<ReleaseClaimRecord | undefined> {
    const [latest] = await this.claims
      .find({ app_id: id })
      .sort({ generation: -1 })
      .limit(1)
      .toArray();
    if (latest !== undefined) return latest;
    const legacy = (await this.find(id))?.active_deployment_id;
    return legacy === undefined
      ? undefined
      : { _id: '', app_id: id, generation: -1, deployment_id: legacy, claimed_at: 0 };
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
