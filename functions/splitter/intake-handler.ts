import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createS3Client, createSqsClient } from "../../shared/aws/clients.ts";
import { readVersionedJson } from "../../shared/aws/s3-conditional.ts";
import { S3ClaimStore } from "../../shared/aws/s3-claim-store.ts";
import { SqsQueueControl } from "../../shared/aws/sqs-queue-control.ts";
import { readSettings } from "../../shared/config/settings.ts";
import type { IntakeS3Pointer } from "../../shared/contracts/intake-message.ts";
import {
  type IntakeMessageClaim,
  type IntakeWindow,
  IntakeWindowSchema,
  intakeWindowDescriptorKey,
} from "../../shared/contracts/intake-window.ts";
import type { DroppedFile } from "../../shared/contracts/s3-event.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import { FunctionMetrics, withMetrics } from "../../shared/lambda/metrics.ts";
import { type IntakeWindowDeps, processIntakeWindow } from "./process-intake-window.ts";
import { IntakeSettingsSchema } from "./settings.ts";
import { addSplitMetrics, createFieldLists, createSplitOnceDeps } from "./split-runtime.ts";

const logger = createLogger("marketo-ingest-intake");
const metrics = new FunctionMetrics("marketo-ingest-intake");

export type IntakeHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

function createRuntime(env: Record<string, string | undefined>) {
  const settings = readSettings(IntakeSettingsSchema, env);
  return { settings, s3: createS3Client(env), sqs: createSqsClient(env), fieldLists: createFieldLists(settings, env) };
}
type IntakeRuntime = ReturnType<typeof createRuntime>;

/** One window's dependencies, built per invocation: a failed window's unsent batch buffer dies with it. */
function windowDeps({ settings, s3, sqs, fieldLists }: IntakeRuntime): IntakeWindowDeps {
  const dlq = new SqsQueueControl(sqs, settings.INTAKE_QUEUE_URL, settings.INTAKE_DLQ_URL);
  const bucket = settings.WORK_BUCKET;
  const split = createSplitOnceDeps(settings, s3, sqs, fieldLists);
  return {
    ...split,
    workBucket: bucket,
    messageClaims: new S3ClaimStore<IntakeMessageClaim>(s3, bucket),
    putWindow: async (key, ndjson, window) => {
      // The descriptor first: a window file is never without the list of messages it holds.
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: intakeWindowDescriptorKey(key),
          Body: JSON.stringify(window),
          ContentType: "application/json",
        }),
      );
      const written = await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: ndjson, ContentType: "application/x-ndjson" }),
      );
      return {
        bucket,
        key,
        ...(written.VersionId ? { versionId: written.VersionId } : {}),
        eTag: (written.ETag ?? "").replace(/"/g, ""),
        size: Buffer.byteLength(ndjson),
      };
    },
    findWindow: async (key) => {
      const dropped = await findObject(s3, { bucket, key });
      if (!dropped) return undefined;
      const descriptor = await readVersionedJson<unknown>(s3, bucket, intakeWindowDescriptorKey(key));
      if (!descriptor) return undefined;
      return { dropped, window: IntakeWindowSchema.parse(descriptor.value) as IntakeWindow };
    },
    findObject: (pointer) => findObject(s3, pointer),
    deadLetter: async (record, error) => {
      await dlq.deadLetter(record.body, {
        code: error.code,
        message: error.message,
        ...(error.path ? { path: error.path } : {}),
        attempts: 1,
        lastFailureAt: new Date(split.clock.now()).toISOString(),
      });
      // Ids and codes only: the message may hold personal data.
      logger.warn("invalid intake message dead-lettered", { messageId: record.messageId, code: error.code });
    },
  };
}

/** The object's current version as a dropped file, or undefined when there is no such object. */
async function findObject(s3: S3Client, pointer: IntakeS3Pointer): Promise<DroppedFile | undefined> {
  try {
    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: pointer.bucket,
        Key: pointer.key,
        ...(pointer.versionId ? { VersionId: pointer.versionId } : {}),
      }),
    );
    return {
      bucket: pointer.bucket,
      key: pointer.key,
      ...(head.VersionId ? { versionId: head.VersionId } : {}),
      ...(head.ETag ? { eTag: head.ETag.replace(/"/g, "") } : {}),
      ...(head.ContentLength !== undefined ? { size: head.ContentLength } : {}),
    };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return undefined;
    throw error;
  }
}

/**
 * Builds the handler from an environment, read and validated on the first event (cold start). One invocation is
 * one window: the event source's batch (up to 10,000 messages or 6 MB, gathered over its batching window).
 */
export function createIntakeHandler(env: Record<string, string | undefined>): IntakeHandler {
  let runtime: IntakeRuntime | undefined;
  return withLambdaContext(
    logger,
    withMetrics(metrics, async (event: SQSEvent, context: Context) => {
      runtime ??= createRuntime(env);
      const records = event.Records.map(({ messageId, body }) => ({ messageId, body }));
      // With the invocation's time, splits that would outlast it pause (or never start) and go on in the splitter
      // function through the split-continuation queue.
      const summary = await processIntakeWindow(records, context.awsRequestId, windowDeps(runtime), {
        remainingMs: () => context.getRemainingTimeInMillis(),
      });
      for (const { result } of summary.splits) if (result.status === "split") addSplitMetrics(metrics, result.manifest);
      logger.info("intake window processed", {
        received: summary.received,
        deadLettered: summary.deadLettered.length,
        duplicates: summary.duplicates.length,
        splits: summary.splits.map(({ key, messages, result }) => ({
          key,
          messages,
          status: result.status,
          ...(result.status === "split" ? { batches: result.manifest.batches, rows: result.manifest.rowsQueued } : {}),
          ...(result.status === "paused" ? { seq: result.seq, rowsRead: result.rowsRead } : {}),
        })),
      });
      // Every message is settled (split, paused or deferred to the splitter, dead-lettered or a duplicate); an
      // infrastructure error threw above.
      return { batchItemFailures: [] };
    }),
  );
}

/** Intake queue → producer messages validated, deduplicated and split in windows onto the ingestion queue. */
export const handler: IntakeHandler = createIntakeHandler(process.env);
