import type { Collection, Db } from 'mongodb';
import { guardEvaluationsKept, withFiniteNumbers, type GuardEvaluationRecord } from '../../domain';

type GuardEvaluationDocument = GuardEvaluationRecord & { _id: string };

/**
 * Every evaluation of the metric guard, for the console's charts of the rules over time. The
 * `_id` is the deployment and the evaluation's instant, so that writing an evaluation again (an
 * activity retried after it wrote) replaces it instead of adding a copy. Bounded per deployment:
 * FerretDB 1.x has no TTL indexes (FerretDB/FerretDB#2415, only in 2.x), so each write prunes
 * what is beyond the newest `keep`. A ±Inf value is stored without its number (FerretDB refuses
 * it); the result's message still names it.
 */
export class GuardEvaluationRepository {
  private readonly collection: Collection<GuardEvaluationDocument>;

  constructor(
    db: Db,
    private readonly keep = guardEvaluationsKept,
  ) {
    this.collection = db.collection<GuardEvaluationDocument>('guard_evaluations');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ deployment_id: 1, at: 1 }, { name: 'deployment_at' });
  }

  async record(evaluation: GuardEvaluationRecord): Promise<void> {
    const _id = `${evaluation.deployment_id}:${evaluation.at}`;
    const storable = { ...evaluation, results: evaluation.results.map(withFiniteNumbers) };
    await this.collection.replaceOne({ _id }, storable, { upsert: true });
    const oldestKept = await this.collection
      .find({ deployment_id: evaluation.deployment_id }, { projection: { at: 1 } })
      .sort({ at: -1 })
      .skip(this.keep - 1)
      .limit(1)
      .next();
    if (oldestKept !== null) {
      await this.collection.deleteMany({
        deployment_id: evaluation.deployment_id,
        at: { $lt: oldestKept.at },
      });
    }
  }

  /** The newest `limit` evaluations of a deployment, oldest first. */
  async listByDeployment(
    deploymentId: string,
    limit = this.keep,
  ): Promise<GuardEvaluationRecord[]> {
    const docs = await this.collection
      .find({ deployment_id: deploymentId })
      .sort({ at: -1 })
      .limit(limit)
      .toArray();
    return docs.reverse().map(({ _id, ...evaluation }) => evaluation);
  }
}
