import { z } from "zod";
import { OpenBatchSchema } from "../batching/batch-packer.ts";

/** A file as the S3 event announced it (the continuation splits exactly that version). */
const DroppedFileSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  versionId: z.string().optional(),
  eTag: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
});

const BoundarySchema = z.object({
  byte: z.number().int().nonnegative(),
  lineFeeds: z.number().int().nonnegative(),
  row: z.number().int().nonnegative(),
  nextLine: z.number().int().positive(),
});

/**
 * A row boundary without the file-wide parts (header, record delimiter): row marks store many. `closed` is set on
 * a JSON array's mark after its last element.
 */
const RowMarkSchema = BoundarySchema.extend({ closed: z.literal(true).optional() });
export type RowMark = z.infer<typeof RowMarkSchema>;

/**
 * A row boundary of the input (see `ReaderPosition` in shared/parsing/input-format.ts): a delimited file's (no
 * kind: the shape checkpoints had before JSON files could pause), an NDJSON file's, or a JSON array file's.
 */
const ReaderPositionSchema = z.union([
  BoundarySchema.extend({ kind: z.literal("ndjson") }),
  BoundarySchema.extend({ kind: z.literal("json"), closed: z.boolean() }),
  BoundarySchema.extend({ recordDelimiter: z.enum(["crlf", "lf", "cr"]), header: z.array(z.string()) }),
]);

const RejectionSchema = z.object({
  kind: z.literal("rejection"),
  row: z.number().int(),
  line: z.number().int(),
  field: z.string().optional(),
  reason: z.string(),
});

/** What the rejected-rows writer keeps between parts (its unwritten rows are written as a part at a checkpoint). */
export const RejectionStateSchema = z.object({
  first: z.array(RejectionSchema),
  groups: z.array(z.object({ reason: z.string(), field: z.string().optional(), rows: z.number().int() })),
  other: z.object({ reason: z.string(), rows: z.number().int() }).optional(),
  count: z.number().int().nonnegative(),
  parts: z.number().int().nonnegative(),
});
export type RejectionState = z.infer<typeof RejectionStateSchema>;

/** How far the packing got: counts, the open batch, rejected rows, and the parts of held messages written. */
export const SplitProgressSchema = z.object({
  rowsRead: z.number().int().nonnegative(),
  rowsQueued: z.number().int().nonnegative(),
  batches: z.number().int().nonnegative(),
  /** Parts of messages waiting for the end of the file (`held/{n}.ndjson`), each a pointer to a staged body. */
  heldParts: z.number().int().nonnegative(),
  packer: z.object({ listId: z.number().int().optional(), open: OpenBatchSchema }).optional(),
  rejections: RejectionStateSchema,
  /** Row boundaries every ROW_MARK_EVERY rows so far (see RowMarks). */
  marks: z.array(RowMarkSchema).default([]),
});
export type SplitProgress = z.infer<typeof SplitProgressSchema>;

/**
 * How far a Bulk Import split got: counts, parts stored, the held parts of their messages, rejected rows, row marks,
 * and the size of the part being filled (its rows are in the work bucket, `openBulkPartKey`: up to 10 MB).
 */
export const BulkSplitProgressSchema = z.object({
  kind: z.literal("bulk"),
  rowsRead: z.number().int().nonnegative(),
  rowsQueued: z.number().int().nonnegative(),
  /** Parts stored so far (the next part's index). */
  batches: z.number().int().nonnegative(),
  /** Parts of stored parts' messages waiting for the end of the file (`held/{n}.ndjson`). */
  heldParts: z.number().int().nonnegative(),
  /** The part being filled, as saved at the pause (absent: none open). */
  openPart: z.object({ rows: z.number().int().positive(), bytes: z.number().int().positive() }).optional(),
  rejections: RejectionStateSchema,
  marks: z.array(RowMarkSchema).default([]),
});
export type BulkSplitProgress = z.infer<typeof BulkSplitProgressSchema>;

/** The part a paused bulk split was filling, exactly as it stood: the next invocation goes on filling it. */
export const OpenBulkPartSchema = z.object({
  columns: z.array(z.string()),
  /** Each line as formatted when added, with the column count it was formatted for (without its newline). */
  lines: z.array(z.object({ text: z.string(), columnCount: z.number().int().nonnegative() })),
  rows: z.array(z.number().int().nonnegative()),
  /** The header row's bytes, line break included. */
  headerBytes: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type OpenBulkPart = z.infer<typeof OpenBulkPartSchema>;

/**
 * A checkpoint's progress: a Data Ingestion split's (no `kind`: checkpoints written before bulk splits paused), or a
 * bulk split's. The ingestion shape refuses any `kind`, so a broken bulk progress is refused, not read as the other.
 */
export const CheckpointProgressSchema = z.union([
  BulkSplitProgressSchema,
  SplitProgressSchema.extend({ kind: z.never().optional() }),
]);
export type CheckpointProgress = z.infer<typeof CheckpointProgressSchema>;

/**
 * Where the bytes come from: the dropped object itself (read on with a ranged GET); a gzip object, which must first
 * be inflated into the work bucket (a gzip stream cannot be entered mid-way); or that inflated copy.
 */
export const SplitSourceSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("dropped") }),
  z.object({ kind: z.literal("inflate") }),
  z.object({ kind: z.literal("inflated"), key: z.string().min(1), bytes: z.number().int().nonnegative() }),
]);
export type SplitSource = z.infer<typeof SplitSourceSchema>;

/**
 * What an intake message or window says a file holds (object type and the producer's options), in place of the
 * key prefix and sidecar a dropped file is resolved from: a continuation has neither to go by.
 */
const ExplicitTargetSchema = z.object({ objectType: z.string().min(1), options: z.unknown().optional() });

/**
 * A split that ran out of time, saved in the work bucket (`{reportPrefix}split-checkpoint.json`) for the next
 * invocation: everything it needs to read on from a row boundary and produce exactly the batches one invocation
 * would have. The options are kept as read at the start (the sidecar may change meanwhile).
 */
export const SplitCheckpointSchema = z.object({
  v: z.literal(1),
  dropped: DroppedFileSchema,
  /** The invocation that claimed the file: continuations renew its claim. */
  owner: z.string().min(1),
  /** Continuations so far; the continuation message names the one it starts. */
  seq: z.number().int().positive(),
  /** The invocation going on from this checkpoint, and since when (one at a time, as for the file's claim). */
  runner: z.object({ id: z.string().min(1), since: z.string() }).optional(),
  startedAt: z.string(),
  head: z.object({
    metadata: z.record(z.string(), z.string()),
    contentEncoding: z.string().optional(),
    contentLength: z.number().int().nonnegative().optional(),
  }),
  /** The sidecar options as parsed at the start (undefined: none). */
  sidecar: z.unknown().optional(),
  /** The intake function's target (undefined: a dropped file, resolved from its key, sidecar and metadata). */
  explicit: ExplicitTargetSchema.optional(),
  source: SplitSourceSchema,
  reader: ReaderPositionSchema,
  progress: CheckpointProgressSchema,
});
export type SplitCheckpoint = z.infer<typeof SplitCheckpointSchema>;

/** The split-continuation queue's message: go on with checkpoint `seq` of this file. */
export const SplitContinuationSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("split-continuation"),
  reportPrefix: z.string().min(1),
  seq: z.number().int().positive(),
});
export type SplitContinuation = z.infer<typeof SplitContinuationSchema>;

/**
 * The split-continuation queue's other message: start this file's split in a fresh invocation. An invocation queues
 * it instead of starting a split with less than its safety margin left (the intake function, after a window or
 * pointer split used up its time): a split that cannot pause (NDJSON, JSON, Bulk Import) would run past the end.
 */
export const SplitStartSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("split-start"),
  dropped: DroppedFileSchema,
  explicit: ExplicitTargetSchema.optional(),
});
export type SplitStart = z.infer<typeof SplitStartSchema>;

/** What the split-continuation queue carries. */
export const SplitQueueMessageSchema = z.discriminatedUnion("kind", [SplitContinuationSchema, SplitStartSchema]);
export type SplitQueueMessage = z.infer<typeof SplitQueueMessageSchema>;

export const SPLIT_CHECKPOINT_FILE = "split-checkpoint.json";
/** Under the report prefix: held messages of paused invocations, and the inflated copy of a gzip file. */
export const SPLIT_STATE_FOLDER = "split/";
export const INFLATED_COPY_FILE = `${SPLIT_STATE_FOLDER}inflated`;
export const HELD_MESSAGES_FOLDER = `${SPLIT_STATE_FOLDER}held/`;
export const heldMessagesKey = (reportPrefix: string, part: number) =>
  `${reportPrefix}${HELD_MESSAGES_FOLDER}${part}.ndjson`;
/** Parts a paused bulk split was filling (input rows: written tagged as row data). */
export const OPEN_BULK_PARTS_FOLDER = `${SPLIT_STATE_FOLDER}open-part/`;
/** The part a paused bulk split was filling, keyed by the rows read at the pause (each checkpoint names its own). */
export const openBulkPartKey = (reportPrefix: string, rowsRead: number) =>
  `${reportPrefix}${OPEN_BULK_PARTS_FOLDER}${rowsRead}.json`;
export const inflatedCopyKey = (reportPrefix: string) => `${reportPrefix}${INFLATED_COPY_FILE}`;

/** A row boundary is marked after every this many rows: the report writer reads at most this many rows per issue. */
export const ROW_MARK_EVERY = 10_000;

/**
 * Where rows start in a file (or its inflated copy), written by the splitter beside the manifest
 * (`row-marks.json`): the report writer reads only the stretches that hold rows with issues, with ranged GETs, from
 * the mark before each, instead of the whole file.
 */
export const RowMarksSchema = z.object({
  v: z.literal(1),
  /** The bytes the offsets count: the dropped object, or the inflated copy of a gzip file in the work bucket. */
  source: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("dropped") }),
    z.object({ kind: z.literal("inflated"), key: z.string().min(1) }),
  ]),
  /** The reader the marks are for: a JSON array or NDJSON file's, or (absent) a delimited file's. */
  format: z.enum(["json", "ndjson"]).optional(),
  /** A delimited file's header and record delimiter (reading on from a mark needs them). */
  header: z.array(z.string()).optional(),
  recordDelimiter: z.enum(["crlf", "lf", "cr"]).optional(),
  marks: z.array(RowMarkSchema),
});
export type RowMarks = z.infer<typeof RowMarksSchema>;
export const ROW_MARKS_FILE = "row-marks.json";
