import type { Collection, Db, Filter } from 'mongodb';
import {
  conflict,
  notFound,
  terminalDeploymentStatuses,
  type Deployment,
  type DeploymentAction,
  type AlertDelivery,
  type DeploymentStatus,
  type NodeDeployment,
  type PackageInfo,
  type ReleaseEvent,
} from '../../domain';
import { DocumentWrites, type ChangeOutcome } from './document-writes';
import { fromStored, newId, toStored, type Stored } from './documents';

type DeploymentDocument = Stored<Deployment>;

export type NewDeployment = Omit<Deployment, 'id' | 'createdTime' | 'updatedTime'>;

export interface DeploymentQuery {
  app_id?: string;
  limit?: number;
}

interface NodeChange {
  machineId: string;
  changes: Partial<Omit<NodeDeployment, 'machine_id' | 'batch'>>;
  now: number;
  /** The step appended to the deployment's timeline in the same write. */
  event?: ReleaseEvent;
}

export class DeploymentRepository {
  private readonly collection: Collection<DeploymentDocument>;
  /** Every write of a deployment goes through here: see DocumentWrites for why. */
  private readonly writes = new DocumentWrites();
  private readonly writeNodes: (id: string, change: NodeChange) => Promise<void>;

  constructor(db: Db) {
    this.collection = db.collection<DeploymentDocument>('deployments');
    this.writeNodes = this.writes.merging((id, changes) => this.applyNodeChanges(id, changes));
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ app_id: 1, createdTime: -1 }, { name: 'app_time' });
    await this.collection.createIndex({ createdTime: -1 }, { name: 'time' });
  }

  /** Stores a new deployment, under `id` when the caller reserved one (see newId). */
  async create(deployment: NewDeployment, now = Date.now(), id = newId()): Promise<Deployment> {
    const stored: Deployment = { id, ...deployment, createdTime: now, updatedTime: now };
    await this.collection.insertOne(toStored(stored));
    return stored;
  }

  async find(id: string): Promise<Deployment | undefined> {
    const doc = await this.collection.findOne({ _id: id });
    return doc === null ? undefined : fromStored<Deployment>(doc);
  }

  async get(id: string): Promise<Deployment> {
    const deployment = await this.find(id);
    if (deployment === undefined) throw notFound('deployment', id);
    return deployment;
  }

  /** Newest first. */
  async list(query: DeploymentQuery = {}): Promise<Deployment[]> {
    const filter: Filter<DeploymentDocument> = query.app_id ? { app_id: query.app_id } : {};
    const docs = await this.collection
      .find(filter)
      .sort({ createdTime: -1 })
      .limit(query.limit ?? 100)
      .toArray();
    return docs.map((doc) => fromStored<Deployment>(doc));
  }

  /**
   * The application's deployments whose life overlaps [from, to] (epoch ms), newest first: made
   * by `to`, and still running or last changed at `from` or later. At most `limit`.
   */
  async activeBetween(appId: string, from: number, to: number, limit = 50): Promise<Deployment[]> {
    const docs = await this.collection
      .find({
        app_id: appId,
        createdTime: { $lte: to },
        $or: [
          { status: { $nin: [...terminalDeploymentStatuses] } },
          { updatedTime: { $gte: from } },
        ],
      })
      .sort({ createdTime: -1 })
      .limit(limit)
      .toArray();
    return docs.map((doc) => fromStored<Deployment>(doc));
  }

  /** The application's release that is not over yet, if any. */
  async findActive(appId: string): Promise<Deployment | undefined> {
    const doc = await this.collection.findOne(
      { app_id: appId, status: { $nin: [...terminalDeploymentStatuses] } },
      { sort: { createdTime: -1 } },
    );
    return doc === null ? undefined : fromStored<Deployment>(doc);
  }

  /**
   * Sets fields of a deployment. With `expectedStatus` the write only lands while the
   * deployment is still in one of those states (a single-document compare-and-set).
   */
  async update(
    id: string,
    changes: Partial<Omit<Deployment, 'id' | 'createdTime' | 'updatedTime'>>,
    expectedStatus?: readonly DeploymentStatus[],
    now = Date.now(),
  ): Promise<Deployment> {
    return await this.write(id, changes, expectedStatus, now);
  }

  /**
   * Sets fields of a deployment (its status, as the release moves) and appends the step to its
   * timeline, in one write.
   */
  async updateWithEvent(
    id: string,
    changes: Partial<Omit<Deployment, 'id' | 'createdTime' | 'updatedTime' | 'timeline'>>,
    event: ReleaseEvent,
    now = Date.now(),
  ): Promise<Deployment> {
    return await this.write(id, changes, undefined, now, event);
  }

  private async write(
    id: string,
    changes: Partial<Omit<Deployment, 'id' | 'createdTime' | 'updatedTime'>>,
    expectedStatus: readonly DeploymentStatus[] | undefined,
    now: number,
    event?: ReleaseEvent,
  ): Promise<Deployment> {
    const filter: Filter<DeploymentDocument> = { _id: id };
    if (expectedStatus) filter.status = { $in: [...expectedStatus] };
    const updated = await this.writes.exclusive(id, () =>
      this.collection.findOneAndUpdate(
        filter,
        {
          $set: { ...changes, updatedTime: now },
          ...(event === undefined ? {} : { $push: { timeline: event } }),
        },
        { returnDocument: 'after' },
      ),
    );
    if (updated === null) {
      const current = await this.get(id);
      throw conflict(
        `deployment ${id} is ${current.status}, expected ${expectedStatus?.join(' or ')}`,
        { status: current.status },
      );
    }
    return fromStored<Deployment>(updated);
  }

  /** Appends what a person or pipeline did to the release (the audit on the Deployment). */
  async recordAction(id: string, action: DeploymentAction, now = Date.now()): Promise<void> {
    const result = await this.writes.exclusive(id, () =>
      this.collection.updateOne(
        { _id: id },
        { $push: { actions: action }, $set: { updatedTime: now } },
      ),
    );
    if (result.matchedCount === 0) throw notFound('deployment', id);
  }

  /**
   * Sets fields of one machine's node deployment. The machines of a batch report at once:
   * their changes are merged into one write of the deployment (see DocumentWrites).
   */
  async setNodeDeployment(
    id: string,
    machineId: string,
    changes: Partial<Omit<NodeDeployment, 'machine_id' | 'batch'>>,
    now = Date.now(),
  ): Promise<void> {
    await this.writeNodes(id, { machineId, changes, now });
  }

  /**
   * Sets fields of one machine's node deployment and appends the step to the deployment's
   * timeline: both go in the one write that carries the batch's changes.
   */
  async recordMachineStep(
    id: string,
    machineId: string,
    changes: Partial<Omit<NodeDeployment, 'machine_id' | 'batch'>>,
    event: ReleaseEvent,
  ): Promise<void> {
    await this.writeNodes(id, { machineId, changes, now: event.at, event });
  }

  /**
   * The array is laid out when the deployment is created and never reordered, so each element
   * is addressed by its index (FerretDB has no arrayFilters), guarded by its machine id. The
   * indexes of a deployment are read once: a batch's write is then one update, no read.
   */
  private async applyNodeChanges(
    id: string,
    changes: NodeChange[],
  ): Promise<ChangeOutcome<void>[]> {
    for (let attempt = 0; ; attempt++) {
      const indexes = await this.nodeIndexes(id, attempt > 0);
      const set: Record<string, unknown> = {};
      const guard: Record<string, string> = {};
      const events: ReleaseEvent[] = [];
      let updatedTime = 0;
      const outcomes = changes.map((change): ChangeOutcome<void> => {
        const index = indexes.get(change.machineId);
        if (index === undefined) {
          return { error: notFound(`machine of deployment ${id}`, change.machineId) };
        }
        for (const [field, value] of Object.entries(change.changes)) {
          set[`node_deployments.${index}.${field}`] = value;
        }
        guard[`node_deployments.${index}.machine_id`] = change.machineId;
        if (change.event !== undefined) events.push(change.event);
        updatedTime = Math.max(updatedTime, change.now);
        return { value: undefined };
      });
      if (updatedTime === 0) return outcomes;
      const result = await this.collection.updateOne(
        { _id: id, ...guard },
        {
          $set: { ...set, updatedTime },
          ...(events.length === 0 ? {} : { $push: { timeline: { $each: events } } }),
        },
      );
      // Indexes read before the deployment was replaced do not match: read them again once.
      if (result.matchedCount > 0 || attempt > 0) return outcomes;
    }
  }

  private readonly indexCache = new Map<string, Map<string, number>>();

  private async nodeIndexes(id: string, fresh: boolean): Promise<Map<string, number>> {
    const cached = fresh ? undefined : this.indexCache.get(id);
    if (cached !== undefined) return cached;
    const deployment = await this.get(id);
    const indexes = new Map(deployment.node_deployments.map((node, i) => [node.machine_id, i]));
    this.indexCache.set(id, indexes);
    // The releases running now are all that is needed; the oldest entry goes.
    if (this.indexCache.size > 200) this.indexCache.delete(this.indexCache.keys().next().value!);
    return indexes;
  }

  async setPackage(id: string, pkg: PackageInfo, now = Date.now()): Promise<void> {
    await this.writes.exclusive(id, () =>
      this.collection.updateOne({ _id: id }, { $set: { package: pkg, updatedTime: now } }),
    );
  }

  /**
   * Appends what one attempt to deliver an alert did, per channel, to the deployment's
   * `alert_deliveries` (see AlertDelivery); nothing when the list is empty. `updatedTime` is
   * left alone: for a release that ended it is when it ended (the rollback duration, the
   * charts' windows), and the analysis alert comes minutes later.
   */
  async recordAlertDeliveries(id: string, deliveries: AlertDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const result = await this.writes.exclusive(id, () =>
      this.collection.updateOne(
        { _id: id },
        { $push: { alert_deliveries: { $each: deliveries } } },
      ),
    );
    if (result.matchedCount === 0) throw notFound('deployment', id);
  }

  /**
   * How many alert deliveries each application has had per alert kind, channel and outcome
   * (every attempt counts: `retrying` ones too), for relguard_alert_deliveries_total. One query
   * of the deployments that have any, counted here: FerretDB's $unwind drops the document's
   * other fields (the application's name with them), so it cannot be grouped there.
   */
  async countAlertDeliveries(): Promise<
    { app: string; kind: string; channel: string; outcome: string; count: number }[]
  > {
    const docs = await this.collection
      .find(
        { alert_deliveries: { $exists: true } },
        { projection: { _id: 0, app_name: 1, alert_deliveries: 1 } },
      )
      .toArray();
    const counts = new Map<
      string,
      { app: string; kind: string; channel: string; outcome: string; count: number }
    >();
    for (const doc of docs) {
      for (const delivery of doc.alert_deliveries ?? []) {
        const labels = {
          app: doc.app_name,
          kind: delivery.kind,
          channel: delivery.channel,
          outcome: delivery.status,
        };
        const key = JSON.stringify(labels);
        const group = counts.get(key) ?? { ...labels, count: 0 };
        group.count++;
        counts.set(key, group);
      }
    }
    return [...counts.values()];
  }

  /** How many deployments each application has in each status. */
  async countByAppAndStatus(): Promise<{ app: string; status: DeploymentStatus; count: number }[]> {
    const groups = await this.collection
      .aggregate<{ _id: { app: string; status: DeploymentStatus }; count: number }>([
        { $group: { _id: { app: '$app_name', status: '$status' }, count: { $sum: 1 } } },
      ])
      .toArray();
    return groups.map((group) => ({ ...group._id, count: group.count }));
  }

  /** The newest rolled-back deployments, for the rollback metrics. */
  async recentRollbacks(limit = 500): Promise<Deployment[]> {
    const docs = await this.collection
      .find({ status: 'rolled_back' })
      .sort({ createdTime: -1 })
      .limit(limit)
      .toArray();
    return docs.map((doc) => fromStored<Deployment>(doc));
  }
}
