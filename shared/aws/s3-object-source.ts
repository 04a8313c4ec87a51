import type { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export interface ObjectLocation {
  bucket: string;
  key: string;
  versionId?: string;
}

/**
 * Streams an object's bytes. The body is destroyed when the consumer stops early: an unread body holds a pooled
 * socket, and after 50 of them the client hangs.
 */
export async function* streamS3Object(
  s3: S3Client,
  location: ObjectLocation,
  fromByte = 0,
): AsyncGenerator<Uint8Array> {
  let response;
  try {
    response = await s3.send(
      new GetObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        ...(location.versionId ? { VersionId: location.versionId } : {}),
        // A ranged GET: a resumed split fetches only the bytes after its checkpoint.
        ...(fromByte > 0 ? { Range: `bytes=${fromByte}-` } : {}),
      }),
    );
  } catch (error) {
    // A range starting at the object's end (a split paused after its last row) has no bytes: 416.
    if (fromByte > 0 && (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416)
      return;
    throw error;
  }
  const body = response.Body as Readable | undefined;
  if (!body) return;
  try {
    for await (const chunk of body) yield chunk as Uint8Array;
  } finally {
    body.destroy();
  }
}

/** The announced version's user metadata and content encoding (HeadObject; needs s3:GetObject[Version]). */
export async function headS3Object(
  s3: S3Client,
  location: ObjectLocation,
): Promise<{ metadata: Record<string, string>; contentEncoding?: string; contentLength?: number }> {
  const response = await s3.send(
    new HeadObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      ...(location.versionId ? { VersionId: location.versionId } : {}),
    }),
  );
  return {
    metadata: response.Metadata ?? {},
    ...(response.ContentEncoding ? { contentEncoding: response.ContentEncoding } : {}),
    ...(response.ContentLength !== undefined ? { contentLength: response.ContentLength } : {}),
  };
}

/** The text of an optional object, or undefined when it does not exist (needs s3:ListBucket to tell). */
export async function readOptionalS3Text(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await response.Body?.transformToString("utf-8")) ?? "";
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NoSuchKey" || name === "NotFound") return undefined;
    throw error;
  }
}

/** The text of an object that must exist (a missing one is an error worth a redelivery). */
export async function readS3Text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await response.Body?.transformToString("utf-8")) ?? "";
}
