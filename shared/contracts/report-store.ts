import type { FileReport } from "../report/build-file-report.ts";
import type { BatchOutcome, SplitManifest } from "../report/file-report.ts";
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
