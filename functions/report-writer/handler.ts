import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createEventBridgeClient, createS3Client, createSqsClient } from "../../shared/aws/clients.ts";
import { EventBridgeWindowEvents } from "../../shared/aws/eventbridge-window-events.ts";
import { readVersionedJson } from "../../shared/aws/s3-conditional.ts";
import {
  IntakeWindowSchema,
  intakeWindowDescriptorKey,
  isIntakeWindowKey,
} from "../../shared/contracts/intake-window.ts";
import { streamS3Object } from "../../shared/aws/s3-object-source.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { uploadText } from "../../shared/aws/s3-text-upload.ts";
import { SqsQueueControl } from "../../shared/aws/sqs-queue-control.ts";
import { readSettings } from "../../shared/config/settings.ts";
import { ReportWriterSettingsSchema } from "./settings.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import { FunctionMetrics, withMetrics } from "../../shared/lambda/metrics.ts";
import { ISSUE_ROWS_FILE } from "../../shared/report/build-file-report.ts";
import { ROW_DATA_TAGGING } from "../../shared/contracts/report-store.ts";
import { processReportMessages, type ReportWriterDeps } from "./process-report-messages.ts";
import { systemClock } from "../../shared/time/clock.ts";

const logger = createLogger("marketo-ingest-report-writer");
const metrics = new FunctionMetrics("marketo-ingest-report-writer");

function createRuntime(env: Record<string, string | undefined>): ReportWriterDeps {
  const settings = readSettings(ReportWriterSettingsSchema, env);
  const s3 = createS3Client(env);
  const reports = new S3ReportStore(s3, settings.WORK_BUCKET);
  return {
    reports,
    rejectedRows: reports,
    openSource: (file, fromByte) => streamS3Object(s3, file, fromByte),
    readRowMarks: (file) => reports.getRowMarks(file),
    openWorkObject: (key, fromByte) => streamS3Object(s3, { bucket: settings.WORK_BUCKET, key }, fromByte),
    putIssueRows: async (file, csv) => {
      const key = `${file.reportPrefix}${ISSUE_ROWS_FILE}`;
      await uploadText(
        s3,
        { bucket: settings.WORK_BUCKET, key, contentType: "text/csv; charset=utf-8", tagging: ROW_DATA_TAGGING },
        csv,
      );
      return key;
    },
    queue: new SqsQueueControl(createSqsClient(env), settings.REPORT_QUEUE_URL, settings.REPORT_DLQ_URL),
    clock: systemClock,
    logger,
    metrics,
    policy: {
      recheckFirstSeconds: settings.REPORT_RECHECK_FIRST_SECONDS,
      recheckMaxSeconds: settings.REPORT_RECHECK_MAX_SECONDS,
      giveUpAfterMs: settings.REPORT_GIVE_UP_HOURS * 3_600_000,
    },
    findIntakeWindow: async (file) => {
      // Only the intake function writes window files, and only in the work bucket.
      if (file.bucket !== settings.WORK_BUCKET || !isIntakeWindowKey(file.key)) return undefined;
      const descriptor = await readVersionedJson<unknown>(s3, file.bucket, intakeWindowDescriptorKey(file.key));
      return descriptor ? IntakeWindowSchema.parse(descriptor.value) : undefined;
    },
    ...(settings.WINDOW_EVENT_BUS
      ? {
          windowEvents: new EventBridgeWindowEvents(createEventBridgeClient(env), settings.WINDOW_EVENT_BUS, {
            maxAttempts: settings.WINDOW_EVENT_MAX_ATTEMPTS,
            backoff: { baseMs: settings.WINDOW_EVENT_RETRY_BASE_MS, capMs: settings.WINDOW_EVENT_RETRY_CAP_MS },
          }),
        }
      : {}),
  };
}

export type ReportWriterHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Builds the handler from an environment, read and validated on the first event (cold start). */
export function createReportWriterHandler(env: Record<string, string | undefined>): ReportWriterHandler {
  let runtime: ReportWriterDeps | undefined;
  return withLambdaContext(
    logger,
    withMetrics(metrics, async (event) => {
      runtime ??= createRuntime(env);
      return processReportMessages(event.Records, runtime);
    }),
  );
}

/** Report queue → `report.json` (while running and when done) and the rows-with-issues CSV per file. */
export const handler: ReportWriterHandler = createReportWriterHandler(process.env);
