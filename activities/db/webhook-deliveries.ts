import type { Collection, Db } from 'mongodb';
import { isDuplicateKey, newId } from './documents';

export interface WebhookDelivery {
  /** The sender's id of the delivery (GitHub's X-GitHub-Delivery); a redelivery repeats it. */
  delivery_id: string;
  source: string;
  event: string;
  received_at: number;
}

type WebhookDeliveryDocument = WebhookDelivery & { _id: string };

/**
 * Webhook deliveries already taken in, so that a redelivered event starts nothing twice. The
 * unique index makes claiming atomic: of two copies arriving together, one wins.
 */
export class WebhookDeliveryRepository {
  private readonly collection: Collection<WebhookDeliveryDocument>;

  constructor(db: Db) {
    this.collection = db.collection<WebhookDeliveryDocument>('webhook_deliveries');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex(
      { source: 1, delivery_id: 1 },
      { unique: true, name: 'source_delivery_unique' },
    );
  }

  /** Records the delivery; false when it was recorded before (a redelivery). */
  async claim(delivery: WebhookDelivery): Promise<boolean> {
    try {
      await this.collection.insertOne({ _id: newId(), ...delivery });
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
    const doc = await this.collection.findOne({ source, delivery_id: deliveryId });
    if (doc === null) return undefined;
    const { _id, ...delivery } = doc;
    return delivery;
  }
}
