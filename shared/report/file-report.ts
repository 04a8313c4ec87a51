import { z } from "zod";
import type { ReaderLimits } from "../parsing/reader-limits.ts";
import type { MarketoFailure } from "../marketo/errors.ts";
import type { FileRef, RowRanges } from "../contracts/batch-message.ts";

export const RejectedRowSchema = z.object({
  row: z.number().int().positive(),
  line: z.number().int().nonnegative(),
  field: z.string().optional(),
  reason: z.string(),
});
export type RejectedRow = z.infer<typeof RejectedRowSchema>;

/** Rejected rows sharing a reason (and field). */
export interface RejectionGroup {
  reason: string;
  field?: string;
  rows: number;
}

/** Written by the splitter when it has finished with a file (queued or rejected it). */
export interface SplitManifest {
  v: 1;
  file: FileRef;
  /**
   * The endpoint the rows went to: persons, customobjects/{apiName}, companies, programmembers[/delete],
   * lists[/remove].
   */
  objectType: string;
  /** Present when the file went through Bulk Import (then `batches` counts import parts). */
  mode?: "bulk";
  /** `gzip` when the name or Content-Encoding declared it (undeclared gzip is found by its magic bytes). */
  /** How the file was read: its format, and the reader limits the split applied (the report writer applies them too). */
  input?: { format: string; gzip?: boolean; readerLimits?: ReaderLimits };
  /** The resolved request options (after metadata, sidecar and stack defaults). */
  options?: Record<string, unknown>;
  /** `failed`: the split itself failed for good (retries exhausted, timeout, crash); written by its failure consumer. */
  status: "queued" | "rejected" | "failed";
  rowsRead: number;
  rowsQueued: number;
  batches: number;
  /**
   * Rejected rows: all of them when `rejectedRowParts` is absent (manifests written before parts existed), else
   * the first few, with the count, the groups by reason, and every row in the NDJSON parts (RejectedRowsStore).
   */
  rejectedRows: RejectedRow[];
  rejectedRowCount?: number;
  rejectionGroups?: RejectionGroup[];
  rejectedRowParts?: number;
  /** Why the whole file was rejected, or why its split failed. */
  error?: { code: string; message: string; line?: number };
  /** `fieldCheck: reject` files that were queued: checked against Marketo's field list, or sent unchecked and why. */
  fieldCheck?: { result: "passed" } | { result: "skipped"; reason: string };
  startedAt: string;
  finishedAt: string;
}

export interface OutcomeFailure {
  code: string;
  message: string;
  status?: number;
  requestId?: string;
}

/** The reportable part of a Marketo failure (no operation URL, no disposition). */
export function toOutcomeFailure(failure: MarketoFailure): OutcomeFailure {
  return {
    code: failure.code,
    message: failure.message,
    ...(failure.status !== undefined ? { status: failure.status } : {}),
    ...(failure.requestId ? { requestId: failure.requestId } : {}),
  };
}

/**
 * The code of a row an import job failed: Marketo gives each such row a reason but no code, and the report groups
 * them (report.json) and marks them (rows-with-issues.csv) under this one.
 */
export const IMPORT_ROW_FAILED = "import_row_failed";

/** A row Marketo failed or warned about inside an import job; `row` is absent when it could not be attributed. */
export interface RowIssue {
  row?: number;
  reason: string;
}

/** The import job behind a bulk part's outcome, as Marketo last described it. */
export interface BulkJobSummary {
  batchId: number;
  status: string;
  message: string;
  processed: number;
  failed: number;
  warnings: number;
}

/** Written by the sender when a batch reaches a final state; one object per batch, so writers never contend. */
export interface BatchOutcome {
  v: 1;
  index: number;
  rowCount: number;
  rows: RowRanges;
  status: "accepted" | "failed" | "dead-lettered";
  requestId?: string;
  attempts: number;
  failure?: OutcomeFailure;
  firstAttemptAt?: string;
  finishedAt: string;
  /** The message (or bulk copy) that dead-lettered the batch: its redriven copy is the one that may send again. */
  deadLetteredBy?: string;
  /** Bulk Import only: the job, and the rows it failed (counted as failed) or warned about (still imported). */
  job?: BulkJobSummary;
  rowFailures?: RowIssue[];
  rowWarnings?: RowIssue[];
}

export type FileStatus = "running" | "complete" | "complete with failures" | "rejected" | "failed";

export interface FileReportSummary {
  status: FileStatus;
  rowsRead: number;
  accepted: number;
  /** Rows refused before sending (validation, size), with reasons in the manifest. */
  rejected: number;
  /** Rows Marketo refused permanently. */
  failed: number;
  deadLettered: number;
  /** Rows imported with a Marketo warning (also counted in `accepted`). */
  warned: number;
  /** Rows queued whose batch has no final outcome yet. */
  pending: number;
  requests: number;
  requestIds: string[];
}

/** Rows the splitter rejected, whether the manifest lists them all or counts them (rows in parts). */
export const rejectedCountOf = (manifest: SplitManifest): number =>
  manifest.rejectedRowCount ?? manifest.rejectedRows.length;

/** Folds the manifest and batch outcomes into the accounting identity rowsRead = accepted+rejected+failed+DLQ+pending. */
export function summarizeReport(manifest: SplitManifest | undefined, outcomes: BatchOutcome[]): FileReportSummary {
  const summary: FileReportSummary = {
    status: "running",
    rowsRead: manifest?.rowsRead ?? 0,
    accepted: 0,
    rejected: manifest ? rejectedCountOf(manifest) : 0,
    failed: 0,
    deadLettered: 0,
    warned: 0,
    pending: 0,
    requests: outcomes.length,
    requestIds: [],
  };
  for (const outcome of outcomes) {
    const rowFailures = outcome.rowFailures?.length ?? 0;
    summary.warned += outcome.rowWarnings?.length ?? 0;
    if (outcome.status === "accepted") {
      summary.accepted += outcome.rowCount - rowFailures;
      summary.failed += rowFailures;
    } else if (outcome.status === "failed") summary.failed += outcome.rowCount;
    else summary.deadLettered += outcome.rowCount;
    if (outcome.requestId) summary.requestIds.push(outcome.requestId);
  }
  if (!manifest) return summary;
  if (manifest.status === "rejected") return { ...summary, status: "rejected" };
  // Nobody works on the file any more: whatever its batches did is counted, and the status says the split failed.
  if (manifest.status === "failed") return { ...summary, status: "failed" };
  summary.pending = manifest.rowsQueued - summary.accepted - summary.failed - summary.deadLettered;
  if (summary.pending > 0 || outcomes.length < manifest.batches) summary.status = "running";
  else if (summary.rejected + summary.failed + summary.deadLettered > 0) summary.status = "complete with failures";
  else summary.status = "complete";
  return summary;
}
