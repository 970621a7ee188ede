import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { tokenExpiry, type ApiToken, type NewApiToken } from '../../domain';
import { fromStored, newId, toStored, type Stored } from './documents';

type TokenDocument = Stored<ApiToken> & { hash: string };

/**
 * Tokens are 32 random bytes: a fast hash is enough to store them (there is nothing to guess),
 * and a lookup by hash needs no scan. Only the hash is kept; the token is shown once.
 */
export const hashToken = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** How often a token's `last_used_at` is written, at most, unless a repository is told otherwise. */
export const defaultLastUsedGranularityMs = 60_000;

export interface TokenRepositoryOptions {
  /** Epoch milliseconds now; tests move it. */
  clock?: () => number;
  /** A token's `last_used_at` is written at most this often; 0 writes it on every use. */
  lastUsedGranularityMs?: number;
}

/** The api's bearer tokens, stored hashed. */
export class TokenRepository {
  private readonly collection: Collection<TokenDocument>;
  private readonly clock: () => number;
  private readonly lastUsedGranularityMs: number;
  /** The `last_used_at` this process last wrote (or is writing) for each token id. */
  private readonly lastUseWritten = new Map<string, number>();

  constructor(db: Db, options: TokenRepositoryOptions = {}) {
    this.collection = db.collection<TokenDocument>('api_tokens');
    this.clock = options.clock ?? Date.now;
    this.lastUsedGranularityMs = options.lastUsedGranularityMs ?? defaultLastUsedGranularityMs;
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ hash: 1 }, { name: 'hash', unique: true });
  }

  /** Creates a token; the returned `token` is the only copy of the secret there will be. */
  async create(
    input: NewApiToken,
    createdBy: string,
    now = Date.now(),
  ): Promise<ApiToken & { token: string }> {
    const token = `rg_${randomBytes(32).toString('base64url')}`;
    const expiresAt = tokenExpiry(input, now);
    const record: ApiToken = {
      id: newId(),
      name: input.name,
      role: input.role,
      createdTime: now,
      created_by: createdBy,
      ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
    };
    await this.collection.insertOne({ ...toStored(record), hash: hashToken(token) });
    return { ...record, token };
  }

  /**
   * The token a bearer presents, or undefined when it is unknown (or revoked); an expired one
   * is returned, with its `expires_at`, so that the refusal can say it expired. Reads only.
   * The secret is found by its SHA-256 through the index, never compared itself: what an
   * attacker could time is a lookup of a hash they cannot steer.
   */
  async authenticate(token: string): Promise<ApiToken | undefined> {
    const doc = await this.collection.findOne(
      { hash: hashToken(token) },
      { projection: { hash: 0 } },
    );
    return doc === null ? undefined : fromStored<ApiToken>(doc);
  }

  /**
   * Records that `token` was used now, at most once per granularity (a minute): every
   * authenticated request calls this, and a write per request would cost the api a database
   * round trip each time. The mark kept in this process stops a burst of concurrent requests
   * from all writing; the conditional update stops several api processes from doing so (on
   * MongoDB; FerretDB v1 does not isolate updates, see DocumentWrites, so two processes racing
   * may both write there, which costs a write and nothing else).
   * Resolves true when it wrote; safe to call concurrently.
   */
  async recordUse(token: Pick<ApiToken, 'id' | 'last_used_at'>): Promise<boolean> {
    const now = this.clock();
    const stale = now - this.lastUsedGranularityMs;
    const known = Math.max(
      this.lastUseWritten.get(token.id) ?? -Infinity,
      token.last_used_at ?? -Infinity,
    );
    if (known > stale) return false;
    this.lastUseWritten.set(token.id, now);
    try {
      const result = await this.collection.updateOne(
        {
          _id: token.id,
          $or: [{ last_used_at: { $exists: false } }, { last_used_at: { $lte: stale } }],
        },
        { $set: { last_used_at: now } },
      );
      return result.modifiedCount === 1;
    } catch (error) {
      // The next request tries again instead of waiting out the granularity.
      if (this.lastUseWritten.get(token.id) === now) this.lastUseWritten.delete(token.id);
      throw error;
    }
  }

  async list(): Promise<ApiToken[]> {
    const docs = await this.collection
      .find({}, { projection: { hash: 0 } })
      .sort({ createdTime: 1 })
      .toArray();
    return docs.map((doc) => fromStored<ApiToken>(doc));
  }

  /** Revokes a token; false when there was none with that id. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.collection.deleteOne({ _id: id });
    this.lastUseWritten.delete(id);
    return result.deletedCount === 1;
  }
}
