import type { Collection, Db } from 'mongodb';
import { isDuplicateKey, newId } from './documents';

export interface WebhookDelivery {
  /** The sender's id of the delivery (GitHub's X-GitHub-Delivery); a redelivery repeats it. */
  delivery_id: string;
  source: string;
  event: string;
  received_at: number;
}

/** How long a delivery id is remembered: a replay within this is refused as a duplicate. */
export const webhookDeliveryRetentionMs = 24 * 3600_000;

/** MongoDB's NotImplemented (238), as FerretDB answers an index option it lacks. */
function isNotImplemented(error: unknown): boolean {
  const { code, codeName } = (error ?? {}) as { code?: unknown; codeName?: unknown };
  return code === 238 || codeName === 'NotImplemented';
}

/** `expires_at` is a BSON date, what a TTL index reads. */
type WebhookDeliveryDocument = WebhookDelivery & { _id: string; expires_at: Date };

export interface WebhookDeliveryRepositoryOptions {
  /** Epoch milliseconds now; tests move it. */
  clock?: () => number;
  /** How long a delivery id is kept. Default 24 h. */
  retentionMs?: number;
}

/**
 * Webhook deliveries already taken in, so that a redelivered (or replayed) event starts
 * nothing twice. The unique index makes claiming atomic: of two copies arriving together, one
 * wins. Each is kept 24 h: a TTL index removes it on MongoDB, and every claim removes those
 * past their time first, which is all FerretDB v1 (no TTL indexes) does.
 */
export class WebhookDeliveryRepository {
  private readonly collection: Collection<WebhookDeliveryDocument>;
  private readonly clock: () => number;
  private readonly retentionMs: number;

  constructor(db: Db, options: WebhookDeliveryRepositoryOptions = {}) {
    this.collection = db.collection<WebhookDeliveryDocument>('webhook_deliveries');
    this.clock = options.clock ?? Date.now;
    this.retentionMs = options.retentionMs ?? webhookDeliveryRetentionMs;
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex(
      { source: 1, delivery_id: 1 },
      { unique: true, name: 'source_delivery_unique' },
    );
    // MongoDB removes each delivery once past expires_at. FerretDB v1 refuses TTL indexes
    // (an error it raises for options it lacks): there, claim() prunes expired deliveries,
    // which bounds the collection as well.
    try {
      await this.collection.createIndex(
        { expires_at: 1 },
        { expireAfterSeconds: 0, name: 'expires_at_ttl' },
      );
    } catch (error) {
      if (!isNotImplemented(error)) throw error;
    }
  }

  /**
   * Records the delivery; false when it was recorded within the retention (a redelivery or a
   * replay). A delivery id older than that is forgotten and counts as new.
   */
  async claim(delivery: WebhookDelivery): Promise<boolean> {
    const now = this.clock();
    await this.collection.deleteMany({ expires_at: { $lte: new Date(now) } });
    try {
      await this.collection.insertOne({
        _id: newId(),
        ...delivery,
        expires_at: new Date(now + this.retentionMs),
      });
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Forgets a delivery whose handling failed, so that its redelivery is handled again. */
  async release(source: string, deliveryId: string): Promise<void> {
    await this.collection.deleteOne({ source, delivery_id: deliveryId });
  }

  async find(source: string, deliveryId: string): Promise<WebhookDelivery | undefined> {
    const doc = await this.collection.findOne({
      source,
      delivery_id: deliveryId,
      expires_at: { $gt: new Date(this.clock()) },
    });
    if (doc === null) return undefined;
    const { _id, expires_at: _expires, ...delivery } = doc;
    return delivery;
  }
}
