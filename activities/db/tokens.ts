import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { ApiToken, NewApiToken } from '../../domain';
import { fromStored, newId, type Stored } from './documents';

type TokenDocument = Stored<ApiToken> & { hash: string };

/**
 * Tokens are 32 random bytes: a fast hash is enough to store them (there is nothing to guess),
 * and a lookup by hash needs no scan. Only the hash is kept; the token is shown once.
 */
export const hashToken = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** The api's bearer tokens, stored hashed. */
export class TokenRepository {
  private readonly collection: Collection<TokenDocument>;

  constructor(db: Db) {
    this.collection = db.collection<TokenDocument>('api_tokens');
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
    const record: ApiToken = {
      id: newId(),
      name: input.name,
      role: input.role,
      createdTime: now,
      created_by: createdBy,
    };
    const { id, ...rest } = record;
    await this.collection.insertOne({ _id: id, ...rest, hash: hashToken(token) });
    return { ...record, token };
  }

  /** The token a bearer presents, or undefined when it is unknown (or revoked). */
  async authenticate(token: string, now = Date.now()): Promise<ApiToken | undefined> {
    // FerretDB 1.x has no projection in findAndModify: the hash is dropped here instead.
    const doc = await this.collection.findOneAndUpdate(
      { hash: hashToken(token) },
      { $set: { last_used_at: now } },
      { returnDocument: 'after' },
    );
    if (doc === null) return undefined;
    const { hash: _hash, ...record } = doc;
    return fromStored<ApiToken>(record);
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
    return result.deletedCount === 1;
  }
}
