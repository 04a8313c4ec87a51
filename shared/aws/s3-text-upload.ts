import { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

/**
 * Streams text chunks into one object with a multipart upload (5 MiB parts), so a report of millions of rows
 * never sits in memory whole. A failed upload is aborted, leaving no parts behind.
 */
export async function uploadText(
  s3: S3Client,
  target: { bucket: string; key: string; contentType: string; /** `x-amz-tagging`, e.g. `k=v` */ tagging?: string },
  chunks: AsyncIterable<string>,
): Promise<void> {
  await new Upload({
    client: s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: Readable.from(chunks, { objectMode: false }),
      ContentType: target.contentType,
      // On the create-multipart (or single) request itself, so the object never exists untagged.
      ...(target.tagging ? { Tagging: target.tagging } : {}),
    },
    partSize: 5 * 1024 * 1024,
    queueSize: 2,
    leavePartsOnError: false,
  }).done();
}
