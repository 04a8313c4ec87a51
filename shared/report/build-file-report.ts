import type { FileRef } from "../contracts/batch-message.ts";
import {
  type BatchOutcome,
  type FileReportSummary,
  type SplitManifest,
  summarizeReport,
  IMPORT_ROW_FAILED,
} from "./file-report.ts";
import type { IntakeWindowListing } from "./intake-outcomes.ts";

/** Object names under a file's report prefix. */
export const REPORT_FILE = "report.json";
export const ISSUE_ROWS_FILE = "rows-with-issues.csv";
/** Which invocation splits the file version (`{ owner, claimedAt }`), written before its first batch is queued. */
export const SPLIT_CLAIM_FILE = "split-claim.json";

/** `{reportPrefix}report.json`: what happened to every row of one dropped file. */
export interface FileReport extends FileReportSummary {
  v: 1;
  file: Omit<FileRef, "reportPrefix">;
  objectType: string;
  mode: "ingestion" | "bulk";
  /** How the file was read, and the request options that applied (configuration, never row data). */
  input?: SplitManifest["input"];
  options?: SplitManifest["options"];
  /** Batches (Data Ingestion requests or import parts) the file was split into, and how many ended. */
  batches: { total: number; final: number };
  /** Why the whole file was rejected (nothing was sent). */
  error?: SplitManifest["error"];
  /** Rows refused before sending, by reason (each row is in the rows-with-issues CSV). */
  rejections: Array<{ reason: string; field?: string; rows: number }>;
  /** Rows Marketo refused or that never got through, by error code and message. */
  failures: Array<{ outcome: "failed" | "dead-lettered"; code: string; message: string; rows: number }>;
  timings: {
    splitStartedAt: string;
    splitFinishedAt: string;
    lastBatchFinishedAt?: string;
    reportedAt: string;
    /** From the split's start to the last final batch (or to now while running). */
    elapsedMs: number;
  };
  /** Where the rejected, failed, dead-lettered and warned rows are, with their original columns. */
  rowsWithIssues?: { key: string; rows: number };
  /** An intake window's report: the producer messages it holds, each with where its records ended. */
  intake?: IntakeWindowListing;
}

export function buildFileReport(
  manifest: SplitManifest,
  outcomes: BatchOutcome[],
  reportedAt: number,
  rowsWithIssues?: FileReport["rowsWithIssues"],
  intake?: IntakeWindowListing,
): FileReport {
  const summary = summarizeReport(manifest, outcomes);
  const { reportPrefix: _prefix, ...file } = manifest.file;
  const lastFinish = outcomes.reduce<string | undefined>(
    (latest, outcome) => (!latest || outcome.finishedAt > latest ? outcome.finishedAt : latest),
    undefined,
  );
  const end = summary.status === "running" || !lastFinish ? reportedAt : Date.parse(lastFinish);
  return {
    v: 1,
    file,
    objectType: manifest.objectType,
    mode: manifest.mode ?? "ingestion",
    ...(manifest.input ? { input: manifest.input } : {}),
    ...(manifest.options ? { options: manifest.options } : {}),
    ...summary,
    batches: { total: manifest.batches, final: outcomes.length },
    ...(manifest.error ? { error: manifest.error } : {}),
    rejections: groupRejections(manifest),
    failures: groupFailures(outcomes),
    timings: {
      splitStartedAt: manifest.startedAt,
      splitFinishedAt: manifest.finishedAt,
      ...(lastFinish ? { lastBatchFinishedAt: lastFinish } : {}),
      reportedAt: new Date(reportedAt).toISOString(),
      elapsedMs: Math.max(0, Math.max(end, Date.parse(manifest.finishedAt)) - Date.parse(manifest.startedAt)),
    },
    ...(rowsWithIssues ? { rowsWithIssues } : {}),
    ...(intake ? { intake } : {}),
  };
}

function groupRejections(manifest: SplitManifest): FileReport["rejections"] {
  // Grouped by the splitter as it went (the rows themselves may be millions, in parts).
  if (manifest.rejectionGroups) return [...manifest.rejectionGroups].sort((a, b) => b.rows - a.rows);
  const groups = new Map<string, FileReport["rejections"][number]>();
  for (const rejected of manifest.rejectedRows) {
    const key = `${rejected.field ?? ""}\u0000${rejected.reason}`;
    const group = groups.get(key) ?? {
      reason: rejected.reason,
      ...(rejected.field ? { field: rejected.field } : {}),
      rows: 0,
    };
    group.rows++;
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.rows - a.rows);
}

function groupFailures(outcomes: BatchOutcome[]): FileReport["failures"] {
  const groups = new Map<string, FileReport["failures"][number]>();
  const add = (outcome: "failed" | "dead-lettered", code: string, message: string, rows: number) => {
    const key = `${outcome}\u0000${code}\u0000${message}`;
    const group = groups.get(key) ?? { outcome, code, message, rows: 0 };
    group.rows += rows;
    groups.set(key, group);
  };
  for (const outcome of outcomes) {
    if (outcome.status !== "accepted") {
      add(outcome.status, outcome.failure?.code ?? "unknown", outcome.failure?.message ?? "", outcome.rowCount);
    }
    // Rows an import job failed one by one: grouped by Marketo's reason, which is their message.
    for (const issue of outcome.rowFailures ?? []) add("failed", IMPORT_ROW_FAILED, issue.reason, 1);
  }
  return [...groups.values()].sort((a, b) => b.rows - a.rows);
}
