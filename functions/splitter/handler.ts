import type { Context } from "aws-lambda";
import { createS3Client, createSqsClient } from "../../shared/aws/clients.ts";
import { readSettings } from "../../shared/config/settings.ts";
import { SplitterSettingsSchema } from "./settings.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import { FunctionMetrics, withMetrics } from "../../shared/lambda/metrics.ts";
import { isSidecarKey } from "./process-dropped-file.ts";
import { droppedFiles } from "../../shared/contracts/s3-event.ts";
import { continueSplit, splitDroppedFileOnce, type SplitOnceResult, startDeferredSplit } from "./split-once.ts";
import {
  SPLIT_CHECKPOINT_FILE,
  SplitCheckpointSchema,
  type SplitContinuation,
  SplitQueueMessageSchema,
  type SplitStart,
} from "../../shared/contracts/split-checkpoint.ts";
import { addSplitMetrics, createFieldLists, createSplitOnceDeps } from "./split-runtime.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { jsonOf } from "../../shared/text/json-text.ts";
import { SplitFailureRecordSchema } from "../../shared/contracts/split-failure.ts";
import { rejectedCountOf } from "../../shared/report/file-report.ts";
import { recordFailedSplit, recordSplitFailure } from "./record-split-failure.ts";
import { z } from "zod";
import { DEPLOYMENT_DEFAULTS } from "../../shared/config/deployment-defaults.ts";

const logger = createLogger("marketo-ingest-splitter");
const metrics = new FunctionMetrics("marketo-ingest-splitter");

export type SplitterHandler = (event: unknown, context: Context) => Promise<void>;

function createRuntime(env: Record<string, string | undefined>) {
  const settings = readSettings(SplitterSettingsSchema, env);
  const s3 = createS3Client(env);
  const sqs = createSqsClient(env);
  return { settings, s3, sqs, fieldLists: createFieldLists(settings, env) };
}
type SplitterRuntime = ReturnType<typeof createRuntime>;

/**
 * Builds the handler from an environment; configuration is read and validated on the first event (cold start).
 * The deployed `handler` uses the process environment; the local runner passes its own.
 */
export function createSplitterHandler(env: Record<string, string | undefined>): SplitterHandler {
  let runtime: SplitterRuntime | undefined;
  return withLambdaContext(
    logger,
    withMetrics(metrics, async (event, context) => {
      runtime ??= createRuntime(env);
      await splitEvent(event, runtime, context);
    }),
  );
}

/**
 * S3 ObjectCreated → batches on the ingestion queue + a manifest in the work bucket; and, from the split-failures
 * queue (the splitter's own on-failure destination), a `failed` manifest for each file whose split failed for good.
 */
export const handler: SplitterHandler = createSplitterHandler(process.env);

/**
 * Records of the split-failures queue or the split-continuation queue (batch size 1 each); an S3 notification's
 * records say `aws:s3`.
 */
const SqsEventSchema = z.object({
  Records: z
    .array(
      z.object({
        eventSource: z.literal("aws:sqs"),
        messageId: z.string(),
        body: z.string(),
        attributes: z.object({ ApproximateReceiveCount: z.coerce.number().int().optional() }).loose().optional(),
      }),
    )
    .min(1),
});
const SplitFailureText = jsonOf(SplitFailureRecordSchema);
const SplitQueueMessageText = jsonOf(SplitQueueMessageSchema);

/**
 * Receives of one continuation message before its split counts as failed for good. The queue's redrive allows one
 * more, so that receive records the failure (a continuation that timed out every time never reached its catch).
 */
export const CONTINUATION_MAX_ATTEMPTS = DEPLOYMENT_DEFAULTS.splitContinuationMaxReceiveCount - 1;

async function splitEvent(event: unknown, runtime: SplitterRuntime, context: Context): Promise<void> {
  const records = SqsEventSchema.safeParse(event);
  if (records.success) {
    for (const record of records.data.Records) {
      const queued = SplitQueueMessageText.safeParse(record.body);
      if (queued.success) {
        const receives = record.attributes?.ApproximateReceiveCount ?? 1;
        if (queued.data.kind === "split-start") await startEvent(queued.data, receives, runtime, context);
        else await continueEvent(queued.data, receives, runtime, context);
        continue;
      }
      // A record that is not a failure record throws: SQS retries it, then keeps it in the splitter DLQ.
      const failure = SplitFailureText.parse(record.body);
      const { reports, announce } = createSplitOnceDeps(runtime.settings, runtime.s3, runtime.sqs);
      const written = await recordSplitFailure(failure, { reports, clock: systemClock, announce });
      logger.error("split failed for good; failed report requested", {
        messageId: record.messageId,
        failedRequestId: failure.requestContext.requestId,
        condition: failure.requestContext.condition,
        files: written.map((manifest) => manifest.file.reportPrefix),
      });
    }
    return;
  }
  const invocationId = context.awsRequestId;
  for (const file of droppedFiles(event)) {
    if (isSidecarKey(file.key)) {
      // Options for a data file, read when that file arrives (upload the sidecar first).
      logger.info("sidecar options file, not split", { key: file.key });
      continue;
    }
    const deps = createSplitOnceDeps(runtime.settings, runtime.s3, runtime.sqs, runtime.fieldLists);
    const result = await splitDroppedFileOnce(file, invocationId, deps, undefined, {
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    logSplit(result, { key: file.key, versionId: file.versionId });
  }
}

async function continueEvent(
  message: SplitContinuation,
  receives: number,
  runtime: SplitterRuntime,
  context: Context,
): Promise<void> {
  const deps = createSplitOnceDeps(runtime.settings, runtime.s3, runtime.sqs, runtime.fieldLists);
  if (receives > CONTINUATION_MAX_ATTEMPTS) {
    const stored = await deps.continuation?.checkpoints.read(`${message.reportPrefix}${SPLIT_CHECKPOINT_FILE}`);
    if (!stored) return;
    const checkpoint = SplitCheckpointSchema.parse(stored.value);
    await recordFailedSplit(
      checkpoint.dropped,
      `the split failed for good: continuation ${message.seq} (after row ${checkpoint.reader.row}) failed ${receives - 1} times (crash or timeout). Nothing of the file was queued; drop the file (or send its intake message) again to split it anew`,
      checkpoint.startedAt,
      { reports: deps.reports, clock: systemClock, announce: deps.announce },
      checkpoint.explicit?.objectType,
    );
    logger.error("split continuation failed for good; failed report requested", {
      reportPrefix: message.reportPrefix,
      seq: message.seq,
      receives,
    });
    return;
  }
  const result = await continueSplit(message, context.awsRequestId, deps, {
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  logSplit(result, { reportPrefix: message.reportPrefix, seq: message.seq });
}

/** A split another invocation deferred (the intake function, out of time): it starts here, or fails for good. */
async function startEvent(message: SplitStart, receives: number, runtime: SplitterRuntime, context: Context) {
  const deps = createSplitOnceDeps(runtime.settings, runtime.s3, runtime.sqs, runtime.fieldLists);
  const ids = { key: message.dropped.key, versionId: message.dropped.versionId };
  if (receives > CONTINUATION_MAX_ATTEMPTS) {
    await recordFailedSplit(
      message.dropped,
      `the split failed for good: its start, deferred to a fresh invocation, failed ${receives - 1} times (crash or timeout). Batches it queued before failing are still sent and counted; drop the file (or send its intake message) again to split it anew`,
      undefined,
      { reports: deps.reports, clock: systemClock, announce: deps.announce },
      message.explicit?.objectType,
    );
    logger.error("deferred split failed for good; failed report requested", { ...ids, receives });
    return;
  }
  const result = await startDeferredSplit(message, context.awsRequestId, deps, {
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  logSplit(result, ids);
}

function logSplit(result: SplitOnceResult, ids: Record<string, unknown>): void {
  if (result.status === "skipped") {
    logger.info("file already split or being split; event ignored", { ...ids, why: result.why });
    return;
  }
  if (result.status === "deferred") {
    logger.info("split deferred: too little time left to start it; it starts in a fresh invocation", ids);
    return;
  }
  if (result.status === "paused") {
    logger.info("split paused before the invocation's time ran out; continues in a fresh invocation", {
      ...ids,
      seq: result.seq,
      rowsRead: result.rowsRead,
    });
    return;
  }
  const { manifest } = result;
  addSplitMetrics(metrics, manifest);
  logger.info("file processed", {
    ...ids,
    as: result.as,
    status: manifest.status,
    rowsRead: manifest.rowsRead,
    rowsQueued: manifest.rowsQueued,
    rowsRejected: rejectedCountOf(manifest),
    batches: manifest.batches,
    error: manifest.error?.code,
    fieldCheck: manifest.fieldCheck?.result,
  });
  if (manifest.fieldCheck?.result === "skipped") {
    logger.warn("field check skipped; the file was sent unchecked", { ...ids, reason: manifest.fieldCheck.reason });
  }
}
