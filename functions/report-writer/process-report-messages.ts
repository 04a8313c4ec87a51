import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { jsonOf } from "../../shared/text/json-text.ts";
import { METRIC, type PipelineMetrics } from "../../shared/contracts/metrics.ts";
import type { Logger } from "../../shared/lambda/logger.ts";
import {
  inflateIfGzip,
  type InputFormat,
  InputFormatSchema,
  type ReaderPosition,
  readRows,
} from "../../shared/parsing/input-format.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";
import { processSqsBatch } from "../../shared/lambda/sqs-batch.ts";
import { parseOrDeadLetter } from "../../shared/lambda/poison-message.ts";
import type { DelayQueue } from "../../shared/contracts/queue-control.ts";
import type { Clock } from "../../shared/time/clock.ts";
import { buildFileReport, type FileReport, REPORT_FILE } from "../../shared/report/build-file-report.ts";
import type { IntakeWindow } from "../../shared/contracts/intake-window.ts";
import type { WindowEventPublisher } from "../../shared/contracts/intake-window-event.ts";
import {
  type IntakeWindowListing,
  intakeWindowListing,
  windowMessageOutcomes,
} from "../../shared/report/intake-outcomes.ts";
import { windowFinishedDetail } from "../../shared/report/window-event.ts";
import type { RejectedRowsStore, ReportStore } from "../../shared/contracts/report-store.ts";
import { rejectedCountOf } from "../../shared/report/file-report.ts";
import { issueEntries, IssueIndex, issueRowsCsv } from "../../shared/report/issue-rows.ts";
import { rowsNearMarks } from "../../shared/report/rows-near-marks.ts";
import type { RowMarks } from "../../shared/contracts/split-checkpoint.ts";
import type { RejectedRow } from "../../shared/report/file-report.ts";
import { type ReportMessage, ReportMessageSchema } from "../../shared/contracts/report-message.ts";
import { toQueueSafeJson } from "../../shared/text/queue-text.ts";

export interface ReportPolicy {
  /** First re-check of a running file, doubling up to `recheckMaxSeconds` (SQS delays stop at 900). */
  recheckFirstSeconds: number;
  recheckMaxSeconds: number;
  /** Stop re-checking a file still running after this long (its batches are stuck; the DLQ alarms say why). */
  giveUpAfterMs: number;
}

export interface ReportWriterDeps {
  reports: ReportStore;
  /** The split's rejected rows, when the manifest keeps them in parts. */
  rejectedRows: Pick<RejectedRowsStore, "readRejectedRows">;
  /**
   * Opens the dropped file's bytes from the start or from an offset (a ranged GET), to copy rows with issues with
   * their original columns.
   */
  openSource: (file: FileRef, fromByte?: number) => AsyncIterable<Uint8Array>;
  /** Where rows start (`row-marks.json`, written by the splitter), and an object of the work bucket from an offset. */
  readRowMarks?: (file: FileRef) => Promise<RowMarks | undefined>;
  openWorkObject?: (key: string, fromByte: number) => AsyncIterable<Uint8Array>;
  /** Stores the rows-with-issues CSV, streamed; returns its key. */
  putIssueRows: (file: FileRef, csv: AsyncIterable<string>) => Promise<string>;
  queue: DelayQueue;
  clock: Clock;
  policy: ReportPolicy;
  logger: Logger;
  /** Final reports written (the handler publishes them per invocation). */
  metrics?: PipelineMetrics;
  /** The descriptor of an intake window file, or undefined for any other file (its report then lists messages). */
  findIntakeWindow?: (file: FileRef) => Promise<IntakeWindow | undefined>;
  /** The optional window event bus: one event per intake window whose report is final. */
  windowEvents?: WindowEventPublisher;
}

const ReportMessageText = jsonOf(ReportMessageSchema);

/**
 * Report writer core: each message looks at one file. While batches are open it refreshes `report.json` and
 * comes back later; once every batch is final it writes the rows with issues as CSV and the final report.
 * One writer per file at a time, and every write is a pure function of the stored parts, so repeats agree.
 */
export function processReportMessages(records: SQSRecord[], deps: ReportWriterDeps): Promise<SQSBatchResponse> {
  return processSqsBatch(records, (record) => processOne(record, deps), {
    // One after the other: steps of one invocation share job slots (bulk) or files (reports).
    inParallel: false,
    onError: (record, error) =>
      deps.logger.error("report not written; will be retried", {
        messageId: record.messageId,
        error: (error as Error).name,
      }),
  });
}

async function processOne(record: SQSRecord, deps: ReportWriterDeps): Promise<void> {
  const message = await parseOrDeadLetter(record, ReportMessageText, "report message", {
    ...deps,
    now: deps.clock.now(),
  });
  if (!message) return;
  const ids = { reportPrefix: message.file.reportPrefix, checks: message.checks };
  const manifest = await deps.reports.getManifest(message.file);
  if (!manifest) throw new Error("the file has no manifest yet");
  const outcomes = await deps.reports.listBatchOutcomes(message.file);
  const window = await deps.findIntakeWindow?.(message.file);
  let listing: IntakeWindowListing | undefined;
  if (window) {
    const readParts = (parts: number) => deps.rejectedRows.readRejectedRows(message.file, parts);
    listing = intakeWindowListing(window, await windowMessageOutcomes(window, manifest, outcomes, readParts));
  }
  const now = deps.clock.now();
  const draft = buildFileReport(manifest, outcomes, now, undefined, listing);

  if (draft.status === "running") {
    await deps.reports.putFileReport(message.file, draft);
    const firstCheckAt = message.firstCheckAt ?? new Date(now).toISOString();
    if (now - Date.parse(firstCheckAt) > deps.policy.giveUpAfterMs) {
      // Stuck batches: stop looking, but through the DLQ, so its alarm says so (a redrive resumes the checks).
      await deps.queue.deadLetter(toQueueSafeJson({ ...message, checks: 0 }), {
        code: "file_still_running",
        message: `${draft.pending} rows still pending since ${firstCheckAt}`,
        attempts: message.checks,
        firstAttemptAt: firstCheckAt,
        lastFailureAt: new Date(now).toISOString(),
        reportPrefix: message.file.reportPrefix,
      });
      deps.logger.error("file still running; report writer stops waiting", { ...ids, pending: draft.pending });
      return;
    }
    const next: ReportMessage = { ...message, checks: message.checks + 1, firstCheckAt };
    const delay = Math.min(deps.policy.recheckMaxSeconds, deps.policy.recheckFirstSeconds * 2 ** message.checks);
    await deps.queue.requeue(toQueueSafeJson(next), delay);
    deps.logger.info("file still running; report re-checked later", { ...ids, pending: draft.pending, delay });
    return;
  }

  const index = IssueIndex.from(manifest, outcomes);
  // Rejected rows in parts are streamed from them, never all held (a header typo can reject millions).
  const parts = manifest.rejectedRowParts ?? 0;
  const streamed = parts > 0 ? rejectedCountOf(manifest) : 0;
  let rowsWithIssues: FileReport["rowsWithIssues"];
  if (index.size + streamed > 0) {
    const format: InputFormat = InputFormatSchema.catch("csv").parse(manifest.input?.format);
    // The limits the split read the file under: a file it accepted is read the same way here.
    const limits = manifest.input?.readerLimits;
    const rejectedRows = parts > 0 ? () => deps.rejectedRows.readRejectedRows(message.file, parts) : undefined;
    const marks = await deps.readRowMarks?.(message.file);
    const openAt = (position: ReaderPosition | undefined) => {
      const bytes =
        position === undefined
          ? inflateIfGzip(deps.openSource(message.file), manifest.input?.gzip ?? false)
          : marks?.source.kind === "inflated"
            ? required(deps.openWorkObject)(marks.source.key, position.byte)
            : deps.openSource(message.file, position.byte);
      return readRows(bytes, format, { ...(limits ? { limits } : {}), ...(position ? { resume: position } : {}) });
    };
    // With row marks, only the stretches holding rows with issues are read (the first row too: its columns count).
    const openRows = marks
      ? () => rowsNearMarks(issueRowNumbers(index, rejectedRows), marks, openAt)
      : () => openAt(undefined);
    const key = await deps.putIssueRows(message.file, issueRowsCsv(openRows, index, rejectedRows));
    rowsWithIssues = { key, rows: index.size + streamed };
  }
  const report = buildFileReport(manifest, outcomes, now, rowsWithIssues, listing);
  await deps.reports.putFileReport(message.file, report);
  if (listing && deps.windowEvents) {
    // After report.json, which the event points to; a failed publish retries the message (at least once).
    const reportKey = `${message.file.reportPrefix}${REPORT_FILE}`;
    const detail = windowFinishedDetail(report, listing, message.file.bucket, reportKey);
    await deps.windowEvents.publish(detail);
    deps.logger.info("intake window event published", {
      ...ids,
      messages: detail.messages,
      failedMessages: detail.failedMessageIds.length,
      rejectedMessages: detail.rejectedMessageIds.length,
      deadLetteredMessages: detail.deadLetteredMessageIds.length,
      truncated: detail.messageIdsTruncated,
    });
  }
  deps.metrics?.add(METRIC.reportsWritten, "Count", 1);
  deps.logger.info("file report written", {
    ...ids,
    status: report.status,
    rowsRead: report.rowsRead,
    accepted: report.accepted,
    rejected: report.rejected,
    failed: report.failed,
    deadLettered: report.deadLettered,
  });
}

/** Row 1 (its columns shape the CSV), then every row with an issue, in order. */
async function* issueRowNumbers(
  index: IssueIndex,
  rejectedRows: (() => AsyncIterable<RejectedRow>) | undefined,
): AsyncGenerator<number> {
  yield 1;
  for await (const entry of issueEntries(index, rejectedRows)) yield entry.row;
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("row marks in the work bucket need openWorkObject");
  return value;
}
