import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { S3Client } from "@aws-sdk/client-s3";
import { createBulkPartSink } from "../../shared/aws/bulk-part-sink.ts";
import { headS3Object, readOptionalS3Text, streamS3Object } from "../../shared/aws/s3-object-source.ts";
import { S3ClaimStore } from "../../shared/aws/s3-claim-store.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { SqsBatchPublisher } from "../../shared/aws/sqs-batch-publisher.ts";
import type { ReportMessage } from "../../shared/contracts/report-message.ts";
import { systemClock } from "../../shared/time/clock.ts";
import type { FileClaim } from "./file-claim.ts";
import { SIDECAR_SUFFIX } from "./process-dropped-file.ts";
import type { SplitterSettings } from "./settings.ts";
import type { SplitOnceDeps } from "./split-once.ts";

/**
 * What splitting a file needs in AWS, for the S3-event handler and the intake handler alike: the same queues,
 * work bucket, claims and report announcement, so an intake window is split exactly like a dropped file.
 */
export function createSplitOnceDeps(settings: SplitterSettings, s3: S3Client, sqs: SQSClient): SplitOnceDeps {
  return {
    describe: (dropped) => headS3Object(s3, dropped),
    open: (dropped) => streamS3Object(s3, dropped),
    readSidecar: (dropped) => readOptionalS3Text(s3, dropped.bucket, `${dropped.key}${SIDECAR_SUFFIX}`),
    publisher: new SqsBatchPublisher(sqs, { queueUrl: settings.INGESTION_QUEUE_URL }),
    reports: new S3ReportStore(s3, settings.WORK_BUCKET),
    clock: systemClock,
    limits: { maxObjects: settings.MAX_REQUEST_OBJECTS, maxBytes: settings.MAX_REQUEST_BYTES },
    defaults: settings.DEFAULT_FILE_OPTIONS,
    bulk: {
      sink: createBulkPartSink(s3, sqs, settings.WORK_BUCKET, settings.BULK_QUEUE_URL),
      maxPartBytes: settings.BULK_MAX_PART_BYTES,
    },
    claims: new S3ClaimStore<FileClaim>(s3, settings.WORK_BUCKET),
    leaseMs: settings.SPLIT_CLAIM_LEASE_MS,
    announce: async (manifest) => {
      const message: ReportMessage = { v: 1, kind: "file-report", file: manifest.file, checks: 0 };
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: settings.REPORT_QUEUE_URL,
          MessageBody: JSON.stringify(message),
          DelaySeconds: settings.REPORT_FIRST_CHECK_SECONDS,
        }),
      );
    },
  };
}
