import type { Collection, Db } from 'mongodb';
import type { ChannelSource, NotifyChannel } from '../../domain';
import type { Logger } from '../logger';

/** A notification channel as stored: `_id` is its name. */
export interface StoredChannel extends NotifyChannel {
  name: string;
  source: ChannelSource;
  /** Epoch ms. */
  updated_at: number;
}

type ChannelDocument = StoredChannel & { _id: string };

/**
 * The notification channels, by name: the one place every process reads them from when it
 * sends (never a copy kept in memory), so a channel put while the stack runs works at once.
 * The api and the worker write their NOTIFY_CHANNELS here at each start (`env`); people add
 * theirs through the api (`api`).
 */
export class NotifyChannelRepository {
  private readonly collection: Collection<ChannelDocument>;

  constructor(db: Db) {
    this.collection = db.collection<ChannelDocument>('notify_channels');
  }

  /** Every channel, by name. */
  async list(): Promise<StoredChannel[]> {
    const docs = await this.collection.find({}).sort({ _id: 1 }).toArray();
    return docs.map(stripId);
  }

  /** Every channel as the notifier takes them: the channel by its name. */
  async byName(): Promise<Record<string, NotifyChannel>> {
    const channels: Record<string, NotifyChannel> = Object.create(null) as Record<
      string,
      NotifyChannel
    >;
    for (const channel of await this.list()) {
      channels[channel.name] = {
        type: channel.type,
        url: channel.url,
        ...(channel.secret === undefined ? {} : { secret: channel.secret }),
      };
    }
    return channels;
  }

  async find(name: string): Promise<StoredChannel | undefined> {
    const doc = await this.collection.findOne({ _id: name });
    return doc === null ? undefined : stripId(doc);
  }

  /** Writes the channel under its name, replacing whatever had it (and its secret). */
  async put(
    name: string,
    channel: NotifyChannel,
    source: ChannelSource,
    now = Date.now(),
  ): Promise<StoredChannel> {
    const stored: StoredChannel = {
      name,
      type: channel.type,
      url: channel.url,
      ...(channel.secret === undefined ? {} : { secret: channel.secret }),
      source,
      updated_at: now,
    };
    await this.collection.replaceOne({ _id: name }, stored, { upsert: true });
    return stored;
  }

  /**
   * Writes a process' NOTIFY_CHANNELS as `env` channels (at its start); answers the names that
   * were `api` channels until now, which the environment's replace.
   */
  async putFromEnv(channels: Record<string, NotifyChannel>, now = Date.now()): Promise<string[]> {
    const replaced: string[] = [];
    for (const [name, channel] of Object.entries(channels)) {
      const before = await this.find(name);
      if (before?.source === 'api') replaced.push(name);
      await this.put(name, channel, 'env', now);
    }
    return replaced;
  }

  /** false when there was no channel of that name. */
  async delete(name: string): Promise<boolean> {
    const result = await this.collection.deleteOne({ _id: name });
    return result.deletedCount === 1;
  }
}

function stripId(doc: ChannelDocument): StoredChannel {
  const { _id, ...channel } = doc;
  return channel;
}

/**
 * What the api and the worker do at start-up: their NOTIFY_CHANNELS become the stored `env`
 * channels (rewritten at each start), logged by name, never by URL or secret.
 */
export async function storeEnvChannels(
  repository: NotifyChannelRepository,
  channels: Record<string, NotifyChannel>,
  logger: Logger,
): Promise<void> {
  const names = Object.keys(channels);
  if (names.length === 0) return;
  const replaced = await repository.putFromEnv(channels);
  for (const name of replaced) {
    logger.warn(
      { channel: name },
      'NOTIFY_CHANNELS replaces a channel put through the api: the environment wins at each start',
    );
  }
  logger.info({ channels: names }, 'NOTIFY_CHANNELS written to the channel store');
}
