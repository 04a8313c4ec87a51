import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

import type { Versioned, WriteCondition } from "../contracts/claim-store.ts";

/** The object's JSON and ETag, or undefined when there is no such key. */
export async function readVersionedJson<T>(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Versioned<T> | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await object.Body?.transformToString("utf8")) ?? "";
    return { value: JSON.parse(text) as T, etag: object.ETag ?? "" };
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return undefined;
    throw error;
  }
}

/**
 * Writes JSON only if the condition holds: `If-None-Match: *` creates for exactly one writer, `If-Match` replaces
 * only what the caller read. The new ETag when the write won, undefined when another writer got there first.
 */
export async function putJsonIf(
  s3: S3Client,
  bucket: string,
  key: string,
  value: unknown,
  condition: WriteCondition,
): Promise<string | undefined> {
  try {
    const written = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: "application/json",
        ...condition,
      }),
    );
    return written.ETag ?? "";
  } catch (error) {
    if (isConditionConflict(error)) return undefined;
    throw error;
  }
}

/** 412: the condition failed; 409: a concurrent conditional write won; 404: If-Match on a deleted object. */
export function isConditionConflict(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 412 || status === 409 || status === 404;
}
