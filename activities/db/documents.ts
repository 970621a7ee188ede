import { MongoServerError, ObjectId, type WithId } from 'mongodb';

/**
 * Documents keep the domain's fields as they are and hold `id` as `_id`. Ids are ObjectId hex
 * strings: short, sortable by creation time, and the same in bson and JSON.
 */
export type Stored<T extends { id: string }> = Omit<T, 'id'> & { _id: string };

export const newId = (): string => new ObjectId().toHexString();

export function toStored<T extends { id: string }>(entity: T): Stored<T> {
  const { id, ...rest } = entity;
  return { _id: id, ...rest };
}

export function fromStored<T extends { id: string }>(doc: WithId<Stored<T>>): T {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest } as unknown as T;
}

/**
 * A unique index refused the write: E11000 on MongoDB. FerretDB 1.x (SQLite) answers inserts
 * the same way but updates with InternalError (code 1) and SQLite's message.
 */
export function isDuplicateKey(error: unknown): boolean {
  return (
    error instanceof MongoServerError &&
    (error.code === 11000 || error.message.includes('UNIQUE constraint failed'))
  );
}
