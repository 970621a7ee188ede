import type { Collection, Db } from 'mongodb';
import type { MachineStatus } from '../../domain';
import { fromStored, type Stored } from './documents';

/** One change of a machine's status, as the health watcher (or a release) saw it. */
export interface MachineEvent {
  id: string;
  app_id: string;
  machine_id: string;
  status: MachineStatus;
  reason: string;
  /** The version the machine ran then ('' for none). */
  version: string;
  /** Epoch ms: when the machine entered `status`. */
  at: number;
}

/**
 * The history of each machine's status, newest first, for people (the console's application
 * page, `relguard app get`). Kept after the application is deleted, like its deployments.
 */
export class MachineEventRepository {
  private readonly collection: Collection<Stored<MachineEvent>>;

  constructor(db: Db) {
    this.collection = db.collection<Stored<MachineEvent>>('machine_events');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ app_id: 1, at: -1 }, { name: 'app_at' });
  }

  /**
   * Records the changes; idempotent: an event is keyed by its machine and time, so an activity
   * retried after a crash writes each change once.
   */
  async record(events: Omit<MachineEvent, 'id'>[]): Promise<void> {
    // One upsert each, not a bulk write: a bulk write wraps a network error in its own error
    // type, which the callers' wait-out-the-outage logic (store-outage.ts) would not recognise.
    await Promise.all(
      events.map((event) => {
        const _id = `${event.app_id}/${event.machine_id}/${event.at}`;
        return this.collection.replaceOne({ _id }, event, { upsert: true });
      }),
    );
  }

  /** The application's events, newest first; `machineId` narrows them to one machine. */
  async list(appId: string, options: { machineId?: string; limit?: number } = {}) {
    const docs = await this.collection
      .find({
        app_id: appId,
        ...(options.machineId === undefined ? {} : { machine_id: options.machineId }),
      })
      .sort({ at: -1 })
      .limit(options.limit ?? 200)
      .toArray();
    return docs.map((doc) => fromStored<MachineEvent>(doc));
  }
}
