import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { z } from "zod";
import type { Logger } from "../../shared/lambda/logger.ts";
import { METRIC, type PipelineMetrics } from "../../shared/contracts/metrics.ts";
import { type BatchOutcome, toOutcomeFailure } from "../../shared/report/file-report.ts";
import type { ReportStore } from "../../shared/contracts/report-store.ts";
import type { Clock } from "../../shared/time/clock.ts";
import { processSqsBatch, RetryLater } from "../../shared/lambda/sqs-batch.ts";
import { deadLetterInvalid } from "../../shared/lambda/poison-message.ts";
import { describeIssues } from "../../shared/text/issues.ts";
import type { QueueControl } from "../../shared/contracts/queue-control.ts";
import { type BatchClaim, claimBatch, type OwnedClaim, withFailure } from "../../shared/claims/batch-claim.ts";
import type { ClaimStore } from "../../shared/contracts/claim-store.ts";
import {
  type BatchMessage,
  BatchMessageText,
  FileRefSchema,
  requestBodyOf,
  RowRangesSchema,
} from "../../shared/contracts/batch-message.ts";
import { jsonOf } from "../../shared/text/json-text.ts";
import { type Delivery, type DeliveryDeps, deliverBatch, SETTLE_MARGIN_MS } from "./deliver-batch.ts";

export interface SenderDeps extends Omit<DeliveryDeps, "client"> {
  /** Resolved lazily so a missing secret makes messages wait instead of failing the cold start. */
  client: () => Promise<DeliveryDeps["client"]>;
  reports: ReportStore;
  /** Which message owns each batch, so copies of a batch (resumed splitter, DLQ redrive) never send twice. */
  claims: ClaimStore<BatchClaim>;
  /** An owner message not delivered for this long is gone; longer than any retry or quota wait. */
  claimTtlMs: number;
  /** First re-check of a copy whose batch another live message owns (doubles per delivery). */
  claimRecheckMs: number;
  queue: QueueControl;
  /** Text of an object in the work bucket (a request body stored by the splitter), undefined when missing. */
  readBody: (key: string) => Promise<string | undefined>;
  clock: Clock;
  maxAttempts: number;
  logger: Logger;
  /** Rows by outcome, objects sent, batches held by the fleet's pause (requests are metered by the client). */
  metrics: PipelineMetrics;
}

/** A copy waiting on another message's batch waits by visibility: up to SQS's 12 hours (the claim TTL caps it). */
const MAX_VISIBILITY_WAIT_MS = 43_200_000;

/**
 * Sender core: one Data Ingestion request per message. Returns the messages to retry (partial batch failure);
 * everything else has a final outcome in the file's report or sits in the DLQ with its reason.
 */
export async function processIngestionMessages(
  records: SQSRecord[],
  deps: SenderDeps,
  remainingMs: () => number,
): Promise<SQSBatchResponse> {
  return processSqsBatch(
    records,
    async (record) => {
      if ((await processOne(record, deps, remainingMs)) === "retry") throw new RetryLater(record.messageId);
    },
    {
      // Each message is its own request: send them side by side.
      inParallel: true,
      onError: (record, error) =>
        deps.logger.error("batch not settled; will be redelivered", {
          messageId: record.messageId,
          error: (error as Error).name,
        }),
    },
  );
}

async function processOne(record: SQSRecord, deps: SenderDeps, remainingMs: () => number): Promise<"done" | "retry"> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? "1");
  const parsed = BatchMessageText.safeParse(record.body);
  if (!parsed.success) {
    await deadLetterUnsendable(record, describeIssues(parsed.error.issues), deps);
    return "done";
  }
  const message = parsed.data;
  const ids = idsOf(record, message);
  // A message started now must be able to finish one request and settle before the invocation ends.
  if (remainingMs() < deps.policy.requestTimeoutMs + SETTLE_MARGIN_MS) return "retry";

  try {
    // Before anything else is touched: a body that is not what the splitter packed and counted is never sent.
    const body = await requestBodyOf(message, deps.readBody);
    if (!body.ok) {
      await deadLetterUnsendable(record, body.reason, deps);
      return "done";
    }
    // A batch with a final outcome was handled, and a batch another live copy owns is that copy's to send.
    const decision = await claimBatch(
      message.file,
      message.batch.index,
      {
        messageId: record.messageId,
        receiveCount,
        readOutcome: () => deps.reports.getBatchOutcome(message.file, message.batch.index),
        now: deps.clock.now(),
        claimTtlMs: deps.claimTtlMs,
        recheckMs: deps.claimRecheckMs,
        maxWaitMs: MAX_VISIBILITY_WAIT_MS,
      },
      deps.claims,
    );
    if (decision.action === "skip") {
      deps.logger.info("batch already final; message dropped", { ...ids, why: decision.why });
      return "done";
    }
    if (decision.action === "wait") {
      deps.logger.info("batch owned by another message; this copy waits", { ...ids, owner: decision.owner });
      await deps.queue.retryAfter(record.receiptHandle, Math.ceil(decision.delayMs / 1000));
      return "retry";
    }
    const { owned } = decision;
    const client = await deps.client();
    const failedDeliveries = owned.claim.failures ?? 0;
    const delivery = await deliverBatch(message, body.text, { failedDeliveries, remainingMs }, { ...deps, client });
    return await settle(message, delivery, record, owned, deps);
  } catch (error) {
    // Reporting or the queue failed: the message comes back; Marketo upserts make a resend harmless.
    deps.logger.error("batch not settled; will be retried", { ...ids, error: (error as Error).name });
    return "retry";
  }
}

async function settle(
  message: BatchMessage,
  delivery: Delivery,
  record: SQSRecord,
  owned: OwnedClaim,
  deps: SenderDeps,
): Promise<"done" | "retry"> {
  const ids = idsOf(record, message);
  const history =
    delivery.status === "retry-later" && delivery.failure.disposition !== "quota"
      ? withFailure(owned.claim, deps.clock.now())
      : owned.claim;
  const outcome = (status: BatchOutcome["status"], extra: Partial<BatchOutcome>): BatchOutcome => ({
    v: 1,
    index: message.batch.index,
    rowCount: message.batch.rowCount,
    rows: message.batch.rows,
    status,
    attempts: (owned.claim.failures ?? 0) + 1,
    firstAttemptAt: owned.claim.claimedAt,
    finishedAt: now(deps),
    ...extra,
  });

  switch (delivery.status) {
    case "accepted":
      await deps.reports.putBatchOutcome(message.file, outcome("accepted", { requestId: delivery.requestId }));
      deps.metrics.add(METRIC.acceptedRows, "Count", message.batch.rowCount);
      deps.metrics.add(METRIC.objectsSent, "Count", message.batch.rowCount);
      deps.logger.info("batch accepted", { ...ids, requestId: delivery.requestId, rows: message.batch.rowCount });
      return "done";
    case "failed":
      await deps.reports.putBatchOutcome(
        message.file,
        outcome("failed", { failure: toOutcomeFailure(delivery.failure) }),
      );
      deps.metrics.add(METRIC.failedRows, "Count", message.batch.rowCount);
      deps.logger.warn("batch failed permanently", {
        ...ids,
        code: delivery.failure.code,
        status: delivery.failure.status,
      });
      return "done";
    case "paused":
      // Waiting out the fleet's pause is not a failed attempt: nothing was sent.
      await deps.queue.retryAfter(record.receiptHandle, Math.ceil(delivery.delayMs / 1000));
      deps.metrics.add(METRIC.fleetPausedBatches, "Count", 1);
      deps.logger.info("fleet paused; batch waits", {
        ...ids,
        reason: delivery.pause.reason,
        code: delivery.pause.code,
        delayMs: delivery.delayMs,
      });
      return "retry";
    case "retry-later": {
      if (delivery.failure.disposition === "quota") {
        // The daily quota: the data waits for the reset, and waiting is not a failed attempt.
        await deps.queue.retryAfter(record.receiptHandle, Math.ceil(delivery.delayMs / 1000));
        deps.logger.warn("daily quota reached; batch waits", { ...ids, code: delivery.failure.code });
        return "retry";
      }
      const failures = history.failures ?? 1;
      if (failures >= deps.maxAttempts) {
        await deps.queue.deadLetter(record.body, {
          code: delivery.failure.code,
          message: delivery.failure.message,
          attempts: failures,
          firstFailureAt: history.firstFailureAt ?? now(deps),
          lastFailureAt: history.lastFailureAt ?? now(deps),
          reportPrefix: message.file.reportPrefix,
          batchIndex: message.batch.index,
        });
        await deps.reports.putBatchOutcome(
          message.file,
          outcome("dead-lettered", {
            attempts: failures,
            failure: toOutcomeFailure(delivery.failure),
            deadLetteredBy: record.messageId,
          }),
        );
        deps.metrics.add(METRIC.deadLetteredRows, "Count", message.batch.rowCount);
        deps.logger.error("batch dead-lettered after retries", {
          ...ids,
          code: delivery.failure.code,
          status: delivery.failure.status,
          failures,
        });
        return "done";
      }
      // Record the failure on the claim (the attempt count survives redeliveries), then back off.
      if ((await deps.claims.write(owned.key, history, { IfMatch: owned.etag })) === undefined) {
        deps.logger.warn("batch claim changed while sending; failure not recorded", ids);
      }
      await deps.queue.retryAfter(record.receiptHandle, Math.ceil(delivery.delayMs / 1000));
      deps.logger.warn("batch will be retried", {
        ...ids,
        code: delivery.failure.code,
        status: delivery.failure.status,
        delayMs: delivery.delayMs,
        failures,
      });
      return "retry";
    }
  }
}

/** What a log line says about a message: ids only, never row contents. */
const idsOf = (record: SQSRecord, message: BatchMessage) => ({
  messageId: record.messageId,
  reportPrefix: message.file.reportPrefix,
  batch: message.batch.index,
});

const now = (deps: { clock: Clock }): string => new Date(deps.clock.now()).toISOString();

/** Just enough of a batch message to say which rows of which file it carried, when the rest of it is invalid. */
const BatchRowsText = jsonOf(
  z.object({
    file: FileRefSchema,
    batch: z.object({
      index: z.number().int().nonnegative(),
      rowCount: z.number().int().positive(),
      rows: RowRangesSchema,
    }),
  }),
);

/**
 * A message that can never be sent goes to the DLQ with its reason. When it still names the rows of a file this
 * deployment split (its manifest exists) and the batch has no outcome yet, those rows are reported dead-lettered
 * too, so the file's accounting closes instead of waiting for a batch that will never come.
 */
async function deadLetterUnsendable(record: SQSRecord, reason: string, deps: SenderDeps): Promise<void> {
  await deadLetterInvalid(record, "batch message", reason, { ...deps, now: deps.clock.now() });
  const named = BatchRowsText.safeParse(record.body);
  if (!named.success) return;
  const { file, batch } = named.data;
  const manifest = await deps.reports.getManifest(file);
  // Only a batch the splitter announced: a forged message must not add rows to a file's accounting.
  if (!manifest || batch.index >= manifest.batches) return;
  if (await deps.reports.getBatchOutcome(file, batch.index)) return;
  await deps.reports.putBatchOutcome(file, {
    v: 1,
    index: batch.index,
    rowCount: batch.rowCount,
    rows: batch.rows,
    status: "dead-lettered",
    attempts: Number(record.attributes.ApproximateReceiveCount ?? "1"),
    failure: { code: "invalid_message", message: `not a valid batch message: ${reason}` },
    finishedAt: now(deps),
    deadLetteredBy: record.messageId,
  });
}
