import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { createBulkPartSink } from "../../shared/aws/bulk-part-sink.ts";
import { createS3Client, createSqsClient } from "../../shared/aws/clients.ts";
import { headS3Object, readOptionalS3Text, streamS3Object } from "../../shared/aws/s3-object-source.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { SqsBatchPublisher } from "../../shared/aws/sqs-batch-publisher.ts";
import { readSettings, type SplitterSettings, SplitterSettingsSchema } from "../../shared/config/function-settings.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { isSidecarKey, processDroppedFile, SIDECAR_SUFFIX } from "../../shared/pipeline/process-dropped-file.ts";
import { droppedFiles } from "../../shared/pipeline/s3-event.ts";
import { systemClock } from "../../shared/time/clock.ts";

const logger = createLogger("marketo-ingest-splitter");

export type SplitterHandler = (event: unknown, context?: Pick<Context, "awsRequestId">) => Promise<void>;

/**
 * Builds the handler from an environment; configuration is read and validated on the first event (cold start).
 * The deployed `handler` uses the process environment; the local runner passes its own.
 */
export function createSplitterHandler(env: Record<string, string | undefined>): SplitterHandler {
  let runtime: ReturnType<typeof createRuntime> | undefined;
  const createRuntime = () => {
    const settings = readSettings(SplitterSettingsSchema, env);
    const s3 = createS3Client(env);
    return { settings, s3, sqs: createSqsClient(env), reports: new S3ReportStore(s3, settings.WORK_BUCKET) };
  };
  return async (event, context) => {
    runtime ??= createRuntime();
    await splitEvent(event, runtime, context);
  };
}

/** S3 ObjectCreated → batches on the ingestion queue + a manifest in the work bucket. */
export const handler: SplitterHandler = createSplitterHandler(process.env);

async function splitEvent(
  event: unknown,
  { settings, s3, sqs, reports }: { settings: SplitterSettings; s3: S3Client; sqs: SQSClient; reports: S3ReportStore },
  context?: Pick<Context, "awsRequestId">,
): Promise<void> {
  logger.appendKeys({ awsRequestId: context?.awsRequestId });
  for (const file of droppedFiles(event)) {
    if (isSidecarKey(file.key)) {
      // Options for a data file, read when that file arrives (upload the sidecar first).
      logger.info("sidecar options file, not split", { key: file.key });
      continue;
    }
    const manifest = await processDroppedFile(file, {
      describe: (dropped) => headS3Object(s3, dropped),
      open: (dropped) => streamS3Object(s3, dropped),
      readSidecar: (dropped) => readOptionalS3Text(s3, dropped.bucket, `${dropped.key}${SIDECAR_SUFFIX}`),
      publisher: new SqsBatchPublisher(sqs, { queueUrl: settings.INGESTION_QUEUE_URL }),
      reports,
      clock: systemClock,
      limits: { maxObjects: settings.MAX_REQUEST_OBJECTS, maxBytes: settings.MAX_REQUEST_BYTES },
      defaults: settings.DEFAULT_FILE_OPTIONS,
      bulk: {
        sink: createBulkPartSink(s3, sqs, settings.WORK_BUCKET, settings.BULK_QUEUE_URL),
        maxPartBytes: settings.BULK_MAX_PART_BYTES,
      },
    });
    logger.info("file processed", {
      key: file.key,
      versionId: file.versionId,
      status: manifest.status,
      rowsRead: manifest.rowsRead,
      rowsQueued: manifest.rowsQueued,
      rowsRejected: manifest.rejectedRows.length,
      batches: manifest.batches,
      error: manifest.error?.code,
    });
  }
}
