import type { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export interface ObjectLocation {
  bucket: string;
  key: string;
  versionId?: string;
}

/**
 * Streams an object's bytes. The body is destroyed when the consumer stops early: an unread body holds a pooled
 * socket, and after 50 of them the client hangs.
 */
export async function* streamS3Object(s3: S3Client, location: ObjectLocation): AsyncGenerator<Uint8Array> {
  const response = await s3.send(
    new GetObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      ...(location.versionId ? { VersionId: location.versionId } : {}),
    }),
  );
  const body = response.Body as Readable | undefined;
  if (!body) return;
  try {
    for await (const chunk of body) yield chunk as Uint8Array;
  } finally {
    body.destroy();
  }
}
