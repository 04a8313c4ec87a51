import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { toQueueSafeJson } from "../../shared/batching/json-for-sqs.ts";
import { createBulkPartSink } from "../../shared/aws/bulk-part-sink.ts";
import { createS3Client, createSqsClient } from "../../shared/aws/clients.ts";
import { createIngestionBatchSink } from "../../shared/aws/ingestion-batch-sink.ts";
import { headS3Object, readOptionalS3Text, streamS3Object } from "../../shared/aws/s3-object-source.ts";
import { S3ClaimStore } from "../../shared/aws/s3-claim-store.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { readSettings } from "../../shared/config/settings.ts";
import { SplitterSettingsSchema } from "./settings.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import type { FileClaim } from "./file-claim.ts";
import { isSidecarKey, SIDECAR_SUFFIX } from "./process-dropped-file.ts";
import { droppedFiles } from "../../shared/contracts/s3-event.ts";
import { splitDroppedFileOnce } from "./split-once.ts";
import type { ReportMessage } from "../../shared/contracts/report-message.ts";
import { systemClock } from "../../shared/time/clock.ts";

const logger = createLogger("marketo-ingest-splitter");

export type SplitterHandler = (event: unknown, context: Context) => Promise<void>;

function createRuntime(env: Record<string, string | undefined>) {
  const settings = readSettings(SplitterSettingsSchema, env);
  const s3 = createS3Client(env);
  const sqs = createSqsClient(env);
  return {
    settings,
    s3,
    sqs,
    reports: new S3ReportStore(s3, settings.WORK_BUCKET),
    claims: new S3ClaimStore<FileClaim>(s3, settings.WORK_BUCKET),
  };
}
type SplitterRuntime = ReturnType<typeof createRuntime>;

/**
 * Builds the handler from an environment; configuration is read and validated on the first event (cold start).
 * The deployed `handler` uses the process environment; the local runner passes its own.
 */
export function createSplitterHandler(env: Record<string, string | undefined>): SplitterHandler {
  let runtime: SplitterRuntime | undefined;
  return withLambdaContext(logger, async (event, context) => {
    runtime ??= createRuntime(env);
    await splitEvent(event, runtime, context);
  });
}

/** S3 ObjectCreated → batches on the ingestion queue + a manifest in the work bucket. */
export const handler: SplitterHandler = createSplitterHandler(process.env);

async function splitEvent(event: unknown, runtime: SplitterRuntime, context: Context): Promise<void> {
  const { settings, s3, sqs, reports, claims } = runtime;
  const invocationId = context.awsRequestId;
  for (const file of droppedFiles(event)) {
    if (isSidecarKey(file.key)) {
      // Options for a data file, read when that file arrives (upload the sidecar first).
      logger.info("sidecar options file, not split", { key: file.key });
      continue;
    }
    const result = await splitDroppedFileOnce(file, invocationId, {
      describe: (dropped) => headS3Object(s3, dropped),
      open: (dropped) => streamS3Object(s3, dropped),
      readSidecar: (dropped) => readOptionalS3Text(s3, dropped.bucket, `${dropped.key}${SIDECAR_SUFFIX}`),
      publisher: createIngestionBatchSink(s3, sqs, settings.WORK_BUCKET, settings.INGESTION_QUEUE_URL),
      reports,
      clock: systemClock,
      limits: { maxObjects: settings.MAX_REQUEST_OBJECTS, maxBytes: settings.MAX_REQUEST_BYTES },
      readerLimits: {
        maxColumns: settings.MAX_COLUMNS,
        maxFieldChars: settings.MAX_FIELD_CHARS,
        maxLineChars: settings.MAX_LINE_CHARS,
      },
      defaults: settings.DEFAULT_FILE_OPTIONS,
      bulk: {
        sink: createBulkPartSink(s3, sqs, settings.WORK_BUCKET, settings.BULK_QUEUE_URL),
        maxPartBytes: settings.BULK_MAX_PART_BYTES,
      },
      claims,
      leaseMs: settings.SPLIT_CLAIM_LEASE_MS,
      announce: async (manifest) => {
        const message: ReportMessage = { v: 1, kind: "file-report", file: manifest.file, checks: 0 };
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: settings.REPORT_QUEUE_URL,
            MessageBody: toQueueSafeJson(message),
            DelaySeconds: settings.REPORT_FIRST_CHECK_SECONDS,
          }),
        );
      },
    });
    if (result.status === "skipped") {
      logger.info("file already split or being split; event ignored", {
        key: file.key,
        versionId: file.versionId,
        why: result.why,
      });
      continue;
    }
    const { manifest } = result;
    logger.info("file processed", {
      key: file.key,
      versionId: file.versionId,
      as: result.as,
      status: manifest.status,
      rowsRead: manifest.rowsRead,
      rowsQueued: manifest.rowsQueued,
      rowsRejected: manifest.rejectedRows.length,
      batches: manifest.batches,
      error: manifest.error?.code,
    });
  }
}
