/** A JSON object as read, with the ETag a conditional write must match to replace it. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/** `If-None-Match: *` creates for exactly one writer; `If-Match` replaces only what the caller read. */
export type WriteCondition = { IfNoneMatch: "*" } | { IfMatch: string };

/** Small records that several workers race to create or replace; the loser of a race learns it and re-reads. */
export interface ClaimStore<T> {
  read(key: string): Promise<Versioned<T> | undefined>;
  /** The new ETag when the write won; undefined when the condition failed (another writer got there first). */
  write(key: string, value: T, condition: WriteCondition): Promise<string | undefined>;
}
