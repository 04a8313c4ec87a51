import { z } from "zod";
import type { FileRef } from "./batch-message.ts";

const S3RecordSchema = z.object({
  eventName: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
    }),
  }),
});

const S3EventSchema = z.object({ Records: z.array(S3RecordSchema) });
const S3TestEventSchema = z.object({ Event: z.literal("s3:TestEvent") });

export interface DroppedFile {
  bucket: string;
  key: string;
  versionId?: string;
  eTag?: string;
  size?: number;
}

export class UnrecognizedEventError extends Error {
  override readonly name = "UnrecognizedEventError";
}

/** Keys in S3 events are URL-encoded with `+` for spaces. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

/**
 * The files an S3 notification announces. The `s3:TestEvent` sent when notifications are configured announces
 * none; anything else that is not an S3 event is an error.
 */
export function droppedFiles(event: unknown): DroppedFile[] {
  if (S3TestEventSchema.safeParse(event).success) return [];
  const parsed = S3EventSchema.safeParse(event);
  if (!parsed.success) throw new UnrecognizedEventError("event is neither an S3 notification nor an s3:TestEvent");
  return parsed.data.Records.filter((record) => record.eventName.startsWith("ObjectCreated:")).map(({ s3 }) => ({
    bucket: s3.bucket.name,
    key: decodeS3Key(s3.object.key),
    ...(s3.object.versionId ? { versionId: s3.object.versionId } : {}),
    ...(s3.object.eTag ? { eTag: s3.object.eTag } : {}),
    ...(s3.object.size !== undefined ? { size: s3.object.size } : {}),
  }));
}

/** Where a file's report lives: one prefix per object version, so a re-upload gets its own report. */
export function reportPrefixFor(file: DroppedFile): string {
  const version = file.versionId ?? (file.eTag ? `etag-${file.eTag.replace(/"/g, "")}` : "unversioned");
  return `reports/${file.key}/${version}/`;
}

/** The file an event announced, as batches and reports refer to it. */
export function fileRefFor(file: DroppedFile): FileRef {
  return {
    bucket: file.bucket,
    key: file.key,
    ...(file.versionId ? { versionId: file.versionId } : {}),
    reportPrefix: reportPrefixFor(file),
  };
}
