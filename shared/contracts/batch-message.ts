import { z } from "zod";
import { toQueueSafeJson, toQueueSafeText } from "../text/queue-text.ts";
import { jsonOf } from "../text/json-text.ts";
import { API_NAME, OBJECT_TYPES } from "../options/object-route.ts";
import { describeIssues } from "../text/issues.ts";
import { DATA_INGESTION_LIMITS } from "./marketo-limits.ts";
import { requestBodyIssues } from "./request-body.ts";

// Internal queue messages are checked as closed schemas: anyone who can send to a queue could otherwise choose
// what the pipeline reads, writes or calls. Every object is strict (an unknown member is an error).

const RESERVED_BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** An S3 bucket name by S3's naming rules (general purpose buckets). */
export const S3BucketNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)",
  )
  .refine((name) => !name.includes(".."), "must not contain two adjacent dots")
  .refine((name) => !/^\d+\.\d+\.\d+\.\d+$/.test(name), "must not be formatted as an IP address")
  .refine(
    (name) =>
      !RESERVED_BUCKET_PREFIXES.some((prefix) => name.startsWith(prefix)) &&
      !RESERVED_BUCKET_SUFFIXES.some((suffix) => name.endsWith(suffix)),
    "uses a prefix or suffix S3 reserves",
  );

/** Identifies one dropped file (one version of one object) and where its report lives. */
export const FileRefSchema = z
  .strictObject({
    bucket: S3BucketNameSchema,
    /** S3 keys are at most 1,024 bytes of UTF-8. */
    key: z
      .string()
      .min(1)
      .refine((key) => Buffer.byteLength(key) <= 1024, "must be at most 1,024 bytes"),
    versionId: z.string().min(1).max(1024).optional(),
    /** Prefix (in the work bucket) of this file's report objects: `reports/{key}/{version}/` (see reportPrefixFor). */
    reportPrefix: z.string().startsWith("reports/").endsWith("/"),
  })
  .superRefine((file, ctx) => {
    // The prefix belongs to this key and version, so a message cannot make a sender write into another report.
    const base = `reports/${file.key}/`;
    const version = file.reportPrefix.startsWith(base) ? file.reportPrefix.slice(base.length, -1) : undefined;
    if (version === undefined || version === "" || version.includes("/")) {
      ctx.addIssue({ code: "custom", path: ["reportPrefix"], message: "must be reports/{key}/{version}/ of this key" });
    } else if (file.versionId !== undefined && version !== file.versionId) {
      ctx.addIssue({ code: "custom", path: ["reportPrefix"], message: "must end in the file's versionId" });
    }
  });
export type FileRef = z.infer<typeof FileRefSchema>;

const RowNumberSchema = z.number().int().positive();

/** Inclusive ranges of 1-based data row numbers, in file order: compact because batches are mostly contiguous. */
export const RowRangesSchema = z
  .array(z.tuple([RowNumberSchema, RowNumberSchema]))
  .min(1)
  .superRefine((ranges, ctx) => {
    ranges.forEach(([from, to], i) => {
      if (from > to)
        ctx.addIssue({ code: "custom", path: [i], message: `range starts after it ends (${from} > ${to})` });
      const previous = ranges[i - 1];
      if (previous && from <= previous[1]) {
        ctx.addIssue({ code: "custom", path: [i], message: "ranges must be in ascending order and not overlap" });
      }
    });
  });
export type RowRanges = z.infer<typeof RowRangesSchema>;

/** Key, in the work bucket, of a request body stored because its message would not fit in the queue. */
export const batchBodyKey = (file: Pick<FileRef, "reportPrefix">, index: number): string =>
  `${file.reportPrefix}bodies/${String(index).padStart(6, "0")}.json`;

/**
 * One queue message = one Data Ingestion request. The Marketo resource is not in the message: the sender derives
 * it from `objectType` (+ `apiName`). The body travels inline, or, when the message would exceed what SQS takes,
 * in the work bucket at `bodyObject.key` (always `batchBodyKey` of the batch).
 */
export const BatchMessageSchema = z
  .strictObject({
    v: z.literal(2),
    file: FileRefSchema,
    objectType: z.enum(OBJECT_TYPES),
    /** Custom objects only: the object's API name. */
    apiName: z.string().regex(API_NAME, "must be a custom object API name (letters, digits, _)").optional(),
    batch: z.strictObject({
      index: z.number().int().nonnegative(),
      rowCount: z.number().int().positive().max(DATA_INGESTION_LIMITS.maxObjects),
      rows: RowRangesSchema,
      /** UTF-8 bytes of the request body as the splitter counted them: the sender sends exactly these. */
      bytes: z.number().int().positive().max(DATA_INGESTION_LIMITS.maxBytes),
    }),
    /** The request body, embedded as JSON (not as a string, which would escape every quote). */
    body: z.record(z.string(), z.unknown()).optional(),
    bodyObject: z.strictObject({ key: z.string() }).optional(),
  })
  .superRefine((message, ctx) => {
    const { objectType, apiName, batch, file } = message;
    if (objectType === "customobjects" && apiName === undefined) {
      ctx.addIssue({ code: "custom", path: ["apiName"], message: "is required for custom objects" });
    }
    if (objectType !== "customobjects" && apiName !== undefined) {
      ctx.addIssue({ code: "custom", path: ["apiName"], message: `does not apply to ${objectType}` });
    }
    const ranged = countRows(batch.rows);
    if (ranged !== batch.rowCount) {
      ctx.addIssue({ code: "custom", path: ["batch", "rowCount"], message: `rows hold ${ranged} rows` });
    }
    if ((message.body === undefined) === (message.bodyObject === undefined)) {
      ctx.addIssue({ code: "custom", path: ["body"], message: "needs exactly one of body and bodyObject" });
    }
    if (message.bodyObject && message.bodyObject.key !== batchBodyKey(file, batch.index)) {
      ctx.addIssue({ code: "custom", path: ["bodyObject", "key"], message: "must be the batch's body key" });
    }
    if (message.body) {
      for (const issue of requestBodyIssues(objectType, batch.rowCount, message.body)) {
        ctx.addIssue({ code: "custom", path: ["body", ...issue.path], message: issue.message });
      }
    }
  });
export type BatchMessage = z.infer<typeof BatchMessageSchema>;
/** A batch message without its body: what the splitter writes around the body it packed. */
export type BatchMessageHead = Omit<BatchMessage, "body" | "bodyObject">;

/** A queue message body: JSON text of a batch message, as the sender reads it. */
export const BatchMessageText = jsonOf(BatchMessageSchema);

export function toRowRanges(rows: readonly number[]): RowRanges {
  const ranges: RowRanges = [];
  for (const row of rows) {
    const last = ranges[ranges.length - 1];
    if (last && row === last[1] + 1) last[1] = row;
    else ranges.push([row, row]);
  }
  return ranges;
}

export function countRows(ranges: RowRanges): number {
  return ranges.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
}

/**
 * The queue form of a message around an already-serialized body (no second stringify of a megabyte): the body as
 * packed, with only the characters queues refuse escaped (see toQueueSafeText), so it parses back to the same body.
 */
export function serializeBatchMessage(head: BatchMessageHead, bodyJson: string): string {
  return toQueueSafeText(`${JSON.stringify(head).slice(0, -1)},"body":${bodyJson}}`);
}

/** The queue form of a message whose body is stored in the work bucket at `batchBodyKey`. */
export function serializeStoredBodyMessage(head: BatchMessageHead): string {
  return toQueueSafeJson({ ...head, bodyObject: { key: batchBodyKey(head.file, head.batch.index) } });
}

export type RequestBody = { ok: true; text: string } | { ok: false; reason: string };

/**
 * The exact text to send for a message: the inline body serialized (JSON.stringify gives back the text the
 * splitter packed and counted, raw UTF-8), or the stored body as stored. A body that is missing, not the size the
 * splitter counted, or not the shape of its object type is never sent.
 */
export async function requestBodyOf(
  message: BatchMessage,
  readStored: (key: string) => Promise<string | undefined>,
): Promise<RequestBody> {
  let text: string;
  if (message.body) {
    text = JSON.stringify(message.body);
  } else {
    const key = batchBodyKey(message.file, message.batch.index);
    const stored = await readStored(key);
    if (stored === undefined) return { ok: false, reason: `bodyObject: ${key} does not exist in the work bucket` };
    text = stored;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, reason: "bodyObject: the stored body is not JSON" };
    }
    const issues = requestBodyIssues(message.objectType, message.batch.rowCount, body);
    if (issues.length > 0) return { ok: false, reason: describeIssues(issues, ["bodyObject"]) };
  }
  const bytes = Buffer.byteLength(text);
  if (bytes !== message.batch.bytes) {
    return { ok: false, reason: `batch.bytes: the body is ${bytes} bytes, not the ${message.batch.bytes} counted` };
  }
  return { ok: true, text };
}
