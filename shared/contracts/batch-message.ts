import { z } from "zod";

/** Identifies one dropped file (one version of one object) and where its report lives. */
export const FileRefSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  versionId: z.string().min(1).optional(),
  /** Prefix (in the work bucket) of this file's report objects, ending in "/". */
  reportPrefix: z.string().min(1),
});
export type FileRef = z.infer<typeof FileRefSchema>;

/** Inclusive ranges of 1-based data row numbers: compact because batches are mostly contiguous. */
export const RowRangesSchema = z.array(z.tuple([z.number().int().positive(), z.number().int().positive()]));
export type RowRanges = z.infer<typeof RowRangesSchema>;

/** One queue message = one Data Ingestion request, ready to send. */
export const BatchMessageSchema = z.object({
  v: z.literal(1),
  file: FileRefSchema,
  objectType: z.string().min(1),
  resource: z.string().min(1),
  batch: z.object({
    index: z.number().int().nonnegative(),
    rowCount: z.number().int().positive(),
    rows: RowRangesSchema,
  }),
  /** The request body, embedded as JSON (not as a string, which would escape every quote). */
  body: z.record(z.string(), z.unknown()),
});
export type BatchMessage = z.infer<typeof BatchMessageSchema>;

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
 * Serializes a message around an already-serialized body, so the body's bytes are exactly those the packer
 * measured (no second stringify of a megabyte).
 */
export function serializeBatchMessage(message: Omit<BatchMessage, "body">, bodyJson: string): string {
  const head = JSON.stringify(message);
  return `${head.slice(0, -1)},"body":${bodyJson}}`;
}
