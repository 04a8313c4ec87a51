import { randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { jsonOf } from "../../shared/text/json-text.ts";
import type { Logger } from "../../shared/lambda/logger.ts";
import { METRIC, type PipelineMetrics } from "../../shared/contracts/metrics.ts";
import type { BulkImportClient, BulkJobStatus } from "../../shared/marketo/bulk-import-client.ts";
import { asMarketoFailure, type MarketoFailure } from "../../shared/marketo/errors.ts";
import type { DelayQueue } from "../../shared/contracts/queue-control.ts";
import { type BatchOutcome, type RowIssue, toOutcomeFailure } from "../../shared/report/file-report.ts";
import type { ReportStore } from "../../shared/contracts/report-store.ts";
import { type BatchClaim, claimBatch } from "../../shared/claims/batch-claim.ts";
import { processSqsBatch } from "../../shared/lambda/sqs-batch.ts";
import { parseOrDeadLetter } from "../../shared/lambda/poison-message.ts";
import type { ClaimStore } from "../../shared/contracts/claim-store.ts";
import { type BackoffPolicy, retryDelayMs } from "../../shared/marketo/backoff.ts";
import type { Clock } from "../../shared/time/clock.ts";
import {
  type BulkPartMessage,
  BulkPartMessageSchema,
  partHolder,
  partFileName,
} from "../../shared/contracts/bulk-message.ts";
import { BULK_DELIMITERS } from "../../shared/text/csv-text.ts";
import type { JobSlots } from "../../shared/contracts/job-slots.ts";
import { mapJobRows } from "./map-job-rows.ts";
import { toQueueSafeJson } from "../../shared/text/queue-text.ts";

export interface BulkPolicy {
  /** Transient failures (5xx, 606, 615, timeouts) of one step before the part goes to the DLQ. */
  maxAttempts: number;
  backoff: BackoffPolicy;
  /** Wait before trying again for a job slot or after Marketo's 1016/1029 (jittered up to twice this). */
  slotWaitSeconds: number;
  /** First status poll after submission, doubling up to `pollMaxSeconds` (Marketo suggests 5–30 s). */
  pollFirstSeconds: number;
  pollMaxSeconds: number;
  /** Wait when the daily quota (607) is spent; re-checked at most every 15 minutes. */
  quotaWaitSeconds: number;
  /** Least wait after 606 (the instance's 100 calls / 20 s window). */
  rateLimitWaitMs: number;
}

export interface BulkImporterDeps {
  /** Resolved lazily so a missing secret makes parts wait instead of failing the cold start. */
  client: () => Promise<Pick<BulkImportClient, "submit" | "status" | "rowsFile">>;
  slots: JobSlots;
  /** Which copy of a part submits it, so two copies (a resumed splitter) never import it twice. */
  claims: ClaimStore<BatchClaim>;
  claimTtlMs: number;
  claimRecheckMs: number;
  readPart: (key: string) => Promise<string>;
  reports: ReportStore;
  queue: DelayQueue;
  clock: Clock;
  random: () => number;
  policy: BulkPolicy;
  logger: Logger;
  /** Rows by outcome and job wait and run times (requests are metered by the client). */
  metrics?: PipelineMetrics;
}

/** A bulk queue message body: JSON text of a part message. */
const BulkPartMessageText = jsonOf(BulkPartMessageSchema);

const CAPACITY_CODES = new Set(["1016", "1029"]);

/**
 * Bulk importer core: each message moves one part one step (submit, or poll its job) and then either ends with
 * an outcome in the file's report, or is queued again with a delay for its next step. Messages whose step hit an
 * infrastructure error (S3, SQS) are returned for SQS to redeliver.
 */
export function processBulkMessages(records: SQSRecord[], deps: BulkImporterDeps): Promise<SQSBatchResponse> {
  // One at a time: each step is one Marketo call at most, and the instance allows 10 concurrent calls in all.
  return processSqsBatch(records, (record) => processOne(record, deps), {
    // One after the other: steps of one invocation share job slots (bulk) or files (reports).
    inParallel: false,
    onError: (record, error) =>
      deps.logger.error("bulk step not settled; will be redelivered", {
        messageId: record.messageId,
        error: (error as Error).name,
      }),
  });
}

async function processOne(record: SQSRecord, deps: BulkImporterDeps): Promise<void> {
  const message = await parseOrDeadLetter(record, BulkPartMessageText, "bulk part message", {
    ...deps,
    now: deps.clock.now(),
  });
  if (!message) return;
  const holder = partHolder(message);
  const outcome = await deps.reports.getBatchOutcome(message.file, message.part.index);
  if (outcome && outcome.status !== "dead-lettered") {
    // A duplicate of a part that already ended: free its slot if a crash left it held, and stop.
    if (message.stage.step === "poll") await deps.slots.release(message.stage.slot, holder);
    deps.logger.info("bulk part already final; duplicate ignored", ids(message));
    return;
  }
  // A dead-lettered part comes back only by a DLQ redrive: a poll polls its job again, a submit submits again.
  if (message.stage.step === "poll") return poll(message, deps);
  if (message.copyId) {
    const stage = message.stage;
    const decision = await claimBatch(
      message.file,
      message.part.index,
      {
        messageId: message.copyId,
        receiveCount: stage.waits + 1,
        readOutcome: async () => outcome,
        now: deps.clock.now(),
        claimTtlMs: deps.claimTtlMs,
        recheckMs: deps.claimRecheckMs,
        // A bulk copy waits as a delayed message: SQS delays stop at 15 minutes.
        maxWaitMs: 900_000,
      },
      deps.claims,
    );
    if (decision.action === "skip") return;
    if (decision.action === "wait") {
      deps.logger.info("bulk part owned by another copy; this copy waits", ids(message));
      return requeue(deps, message, { ...stage, waits: stage.waits + 1 }, Math.ceil(decision.delayMs / 1000));
    }
  }
  await submit(message, deps);
}

async function submit(message: BulkPartMessage, deps: BulkImporterDeps): Promise<void> {
  const stage = message.stage as Extract<BulkPartMessage["stage"], { step: "submit" }>;
  const holder = partHolder(message);
  const lease = await deps.slots.acquire(holder);
  if (!lease) {
    deps.logger.info("no free job slot; part waits", { ...ids(message), waits: stage.waits + 1 });
    return requeue(deps, message, { ...stage, waits: stage.waits + 1 }, jittered(deps, deps.policy.slotWaitSeconds));
  }
  const startedAt = stage.firstTriedAt ?? now(deps);
  if (lease.batchId !== undefined) {
    // Submitted before a crash that kept the poll from being queued: poll that job, never submit twice.
    return requeue(deps, message, pollStage(lease.batchId, lease.slot, startedAt), deps.policy.pollFirstSeconds);
  }
  const text = await deps.readPart(message.part.key);
  let job: BulkJobStatus;
  try {
    const client = await deps.client();
    job = await client.submit(message.route, message.params, {
      name: partFileName(message.part.index, message.params.format),
      text,
    });
  } catch (error) {
    await deps.slots.release(lease.slot, holder);
    const failure = asMarketoFailure(error, "submit import job");
    if (CAPACITY_CODES.has(failure.code) || failure.disposition === "quota") {
      // Marketo's job queue is full (other integrations count too) or the quota is spent: wait, never drop.
      const wait = failure.disposition === "quota" ? deps.policy.quotaWaitSeconds : deps.policy.slotWaitSeconds;
      deps.logger.warn("Marketo cannot take the job now; part waits", { ...ids(message), code: failure.code });
      return requeue(
        deps,
        message,
        { ...stage, waits: stage.waits + 1, firstTriedAt: startedAt },
        jittered(deps, wait),
      );
    }
    return afterFailure(message, failure, { ...stage, tries: stage.tries + 1, firstTriedAt: startedAt }, deps);
  }
  await deps.slots.attach(lease.slot, holder, job.batchId);
  deps.metrics?.add(METRIC.bulkJobWait, "Seconds", (deps.clock.now() - Date.parse(startedAt)) / 1000);
  deps.logger.info("import job submitted", { ...ids(message), batchId: job.batchId, requestId: job.requestId });
  await requeue(deps, message, pollStage(job.batchId, lease.slot, startedAt), deps.policy.pollFirstSeconds);
}

async function poll(message: BulkPartMessage, deps: BulkImporterDeps): Promise<void> {
  const stage = message.stage as Extract<BulkPartMessage["stage"], { step: "poll" }>;
  const holder = partHolder(message);
  let job: BulkJobStatus;
  let issues: { failures: RowIssue[]; warnings: RowIssue[] } | undefined;
  try {
    const client = await deps.client();
    job = await client.status(message.route, stage.batchId);
    if (job.status === "Complete") issues = await fetchIssues(message, job, client, deps);
  } catch (error) {
    const failure = asMarketoFailure(error, `poll import job ${stage.batchId}`);
    if (failure.disposition === "permanent") await deps.slots.release(stage.slot, holder);
    return afterFailure(message, failure, { ...stage, tries: stage.tries + 1 }, deps);
  }
  if (job.status === "Queued" || job.status === "Importing") {
    await deps.slots.renew(stage.slot, holder).catch((error: unknown) => {
      // The lease expired and was taken over; the job still runs and is still polled to its end.
      deps.logger.warn("job slot lease lost while the job runs", { ...ids(message), error: (error as Error).name });
    });
    const delay = Math.min(deps.policy.pollMaxSeconds, deps.policy.pollFirstSeconds * 2 ** stage.polls);
    return requeue(deps, message, { ...stage, polls: stage.polls + 1, tries: 0 }, delay);
  }
  const jobSummary = {
    batchId: job.batchId,
    status: job.status,
    message: job.message,
    processed: job.processed,
    failed: job.failed,
    warnings: job.warnings,
  };
  deps.metrics?.add(METRIC.bulkJobRun, "Seconds", (deps.clock.now() - Date.parse(stage.submittedAt)) / 1000);
  if (job.status === "Failed") {
    deps.metrics?.add(METRIC.failedRows, "Count", message.part.rowCount);
    // A failed job is final: its rows are reported with Marketo's message, not retried forever.
    await putOutcome(deps, message, stage, "failed", {
      job: jobSummary,
      failure: { code: "job_failed", message: job.message || "import job failed", ...reqId(job) },
    });
    deps.logger.warn("import job failed", { ...ids(message), batchId: job.batchId });
  } else {
    const failedRows = Math.min(issues?.failures.length ?? 0, message.part.rowCount);
    deps.metrics?.add(METRIC.acceptedRows, "Count", message.part.rowCount - failedRows);
    deps.metrics?.add(METRIC.failedRows, "Count", failedRows);
    await putOutcome(deps, message, stage, "accepted", {
      job: jobSummary,
      ...reqId(job),
      rowFailures: issues?.failures ?? [],
      rowWarnings: issues?.warnings ?? [],
    });
    deps.logger.info("import job complete", {
      ...ids(message),
      batchId: job.batchId,
      processed: job.processed,
      failed: job.failed,
      warnings: job.warnings,
    });
  }
  await deps.slots.release(stage.slot, holder);
}

/** The failures and warnings files, attributed to original rows; a count Marketo gives without a file is kept. */
async function fetchIssues(
  message: BulkPartMessage,
  job: BulkJobStatus,
  client: Pick<BulkImportClient, "rowsFile">,
  deps: BulkImporterDeps,
): Promise<{ failures: RowIssue[]; warnings: RowIssue[] }> {
  const failuresText = job.failed > 0 ? await client.rowsFile(message.route, job.batchId, "failures") : undefined;
  const warningsText = job.warnings > 0 ? await client.rowsFile(message.route, job.batchId, "warnings") : undefined;
  const partText = failuresText || warningsText ? await deps.readPart(message.part.key) : "";
  const map = (text: string | undefined, count: number, what: string): RowIssue[] => {
    const mapped = text
      ? mapJobRows({
          partText,
          issuesText: text,
          delimiter: BULK_DELIMITERS[message.params.format],
          partRows: message.part.rows,
          ...(message.route.target === "leads" ? { lookupField: message.params.lookupField ?? "email" } : {}),
          ...(message.route.target === "programmembers" ? { lookupField: "email" } : {}),
        })
      : [];
    const missing = Math.max(0, Math.min(count, message.part.rowCount) - mapped.length);
    return [
      ...mapped,
      ...Array.from({ length: missing }, () => ({ reason: `${what} without a row in Marketo's file` })),
    ];
  };
  const failures = map(failuresText, job.failed, "failed").slice(0, message.part.rowCount);
  return { failures, warnings: map(warningsText, job.warnings, "warned") };
}

/** A transient failure waits with backoff until `maxAttempts`, then the DLQ; a permanent one ends the part. */
async function afterFailure(
  message: BulkPartMessage,
  failure: MarketoFailure,
  stage: BulkPartMessage["stage"],
  deps: BulkImporterDeps,
): Promise<void> {
  if (failure.disposition === "permanent") {
    await putOutcome(deps, message, stage, "failed", { failure: toOutcomeFailure(failure) });
    deps.metrics?.add(METRIC.failedRows, "Count", message.part.rowCount);
    deps.logger.warn("bulk part failed permanently", { ...ids(message), code: failure.code, status: failure.status });
    return;
  }
  if (stage.tries >= deps.policy.maxAttempts) {
    // The DLQ copy is a new copy: redriven, it may take the part over from this one.
    await deps.queue.deadLetter(toQueueSafeJson({ ...message, stage, copyId: randomUUID() }), {
      code: failure.code,
      message: failure.message,
      attempts: stage.tries,
      ...(stage.firstTriedAt ? { firstAttemptAt: stage.firstTriedAt } : {}),
      lastFailureAt: now(deps),
      reportPrefix: message.file.reportPrefix,
      batchIndex: message.part.index,
    });
    await putOutcome(deps, message, stage, "dead-lettered", {
      failure: toOutcomeFailure(failure),
      ...(message.copyId ? { deadLetteredBy: message.copyId } : {}),
    });
    if (stage.step === "poll") await deps.slots.release(stage.slot, partHolder(message));
    deps.metrics?.add(METRIC.deadLetteredRows, "Count", message.part.rowCount);
    deps.logger.error("bulk part dead-lettered after retries", {
      ...ids(message),
      code: failure.code,
      status: failure.status,
    });
    return;
  }
  // 606 is the 100-calls-per-20-s window: coming back sooner only spends calls.
  const floorMs =
    failure.code === "606" ? Math.max(deps.policy.rateLimitWaitMs, failure.retryAfterMs ?? 0) : failure.retryAfterMs;
  const delayMs = retryDelayMs(stage.tries, deps.policy.backoff, deps.random, floorMs);
  deps.logger.warn("bulk step will be retried", {
    ...ids(message),
    code: failure.code,
    status: failure.status,
    delayMs,
  });
  await requeue(deps, message, stage, Math.ceil(delayMs / 1000));
}

async function putOutcome(
  deps: BulkImporterDeps,
  message: BulkPartMessage,
  stage: BulkPartMessage["stage"],
  status: BatchOutcome["status"],
  extra: Partial<BatchOutcome>,
): Promise<void> {
  await deps.reports.putBatchOutcome(message.file, {
    v: 1,
    index: message.part.index,
    rowCount: message.part.rowCount,
    rows: message.part.rows,
    status,
    attempts: stage.tries + 1,
    ...(stage.firstTriedAt ? { firstAttemptAt: stage.firstTriedAt } : {}),
    finishedAt: now(deps),
    ...extra,
  });
}

function requeue(
  deps: BulkImporterDeps,
  message: BulkPartMessage,
  stage: BulkPartMessage["stage"],
  delaySeconds: number,
): Promise<void> {
  return deps.queue.requeue(toQueueSafeJson({ ...message, stage }), delaySeconds);
}

const pollStage = (batchId: number, slot: number, firstTriedAt: string): BulkPartMessage["stage"] => ({
  step: "poll",
  batchId,
  slot,
  submittedAt: firstTriedAt,
  polls: 0,
  tries: 0,
  firstTriedAt,
});

/** Spreads waiting parts out so they do not all come back for the same freed slot at once. */
const jittered = (deps: BulkImporterDeps, seconds: number): number => Math.round(seconds * (1 + deps.random()));

const reqId = (job: { requestId?: string }) => (job.requestId ? { requestId: job.requestId } : {});

const ids = (message: BulkPartMessage) => ({ reportPrefix: message.file.reportPrefix, part: message.part.index });

const now = (deps: { clock: Clock }): string => new Date(deps.clock.now()).toISOString();
