import type { FileReport } from "../report/build-file-report.ts";
import type { BatchOutcome, RejectedRow, SplitManifest } from "../report/file-report.ts";
import type { FileRef } from "./batch-message.ts";

/** The report objects of one file version in the work bucket, as every stage reads and writes them. */
export interface ReportStore {
  putManifest(file: FileRef, manifest: SplitManifest): Promise<void>;
  getManifest(file: FileRef): Promise<SplitManifest | undefined>;
  putBatchOutcome(file: FileRef, outcome: BatchOutcome): Promise<void>;
  getBatchOutcome(file: FileRef, index: number): Promise<BatchOutcome | undefined>;
  listBatchOutcomes(file: FileRef): Promise<BatchOutcome[]>;
  /** `report.json`: the file's report as the report writer last wrote it. */
  putFileReport(file: FileRef, report: FileReport): Promise<void>;
  getFileReport(file: FileRef): Promise<FileReport | undefined>;
  /** When the newest batch outcome was written (a redriven batch can end after the final report). */
  lastOutcomeWrittenAt(file: FileRef): Promise<number | undefined>;
}

/**
 * The S3 object tag (as an `x-amz-tagging` value) of report objects that copy input rows (personal data): rejected
 * rows and the rows-with-issues CSV. A lifecycle rule on this tag expires them sooner than the rest of a report.
 */
export const ROW_DATA_TAG = { key: "marketo-ingest-data", value: "rows" } as const;
export const ROW_DATA_TAGGING = `${ROW_DATA_TAG.key}=${ROW_DATA_TAG.value}`;

/**
 * A split's rejected rows, as NDJSON parts under `{reportPrefix}rejected-rows/`: a file may reject every one of its
 * millions of rows, more than a manifest (or a Lambda's memory) holds. Parts are numbered from 0, rows in file order.
 */
export interface RejectedRowsStore {
  putRejectedRowsPart(file: FileRef, index: number, ndjson: string): Promise<void>;
  /** The rows of parts 0 … parts-1, in order, read one part at a time. */
  readRejectedRows(file: FileRef, parts: number): AsyncIterable<RejectedRow>;
}
