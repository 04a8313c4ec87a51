import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { S3Client } from "@aws-sdk/client-s3";
import { createBulkPartSink } from "../../shared/aws/bulk-part-sink.ts";
import { createIngestionBatchSink } from "../../shared/aws/ingestion-batch-sink.ts";
import { headS3Object, readOptionalS3Text, readS3Text, streamS3Object } from "../../shared/aws/s3-object-source.ts";
import { S3ClaimStore } from "../../shared/aws/s3-claim-store.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { METRIC, type PipelineMetrics } from "../../shared/contracts/metrics.ts";
import type { ReportMessage } from "../../shared/contracts/report-message.ts";
import { rejectedCountOf, type SplitManifest } from "../../shared/report/file-report.ts";
import { toQueueSafeJson } from "../../shared/text/queue-text.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { createSecretsClient } from "../../shared/aws/clients.ts";
import { describeFields } from "../../shared/marketo/describe-client.ts";
import { CachedFieldLists, type FieldLists } from "../../shared/marketo/field-lists.ts";
import { createMarketoDispatcher } from "../../shared/marketo/http.ts";
import { lazyMarketoClient } from "../../shared/marketo/lazy-client.ts";
import type { FileClaim } from "./file-claim.ts";
import { SIDECAR_SUFFIX } from "./process-dropped-file.ts";
import { fileGuardsOf, readerLimitsOf, type SplitterSettings } from "./settings.ts";
import type { ContinuationDeps, SplitOnceDeps } from "./split-once.ts";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Readable } from "node:stream";
import { heldMessagesKey, openBulkPartKey, type SplitQueueMessage } from "../../shared/contracts/split-checkpoint.ts";
import { inflateIfGzip } from "../../shared/parsing/input-format.ts";
import type { FileGuards } from "./settings.ts";
import type { DroppedFile } from "../../shared/contracts/s3-event.ts";
import { ROW_DATA_TAGGING } from "../../shared/contracts/report-store.ts";

/**
 * What splitting a file needs in AWS, for the S3-event handler and the intake handler alike: the same queues,
 * work bucket, file guards, claims and report announcement, so an intake window is split exactly like a dropped
 * file. Build it per file (per window for intake): the publisher buffers messages until flushed, and a split that
 * failed must not hand its unsent buffer to the next one (Lambda's retry runs in the same warm process).
 */
export function createSplitOnceDeps(
  settings: SplitterSettings,
  s3: S3Client,
  sqs: SQSClient,
  fieldLists?: FieldLists,
): SplitOnceDeps {
  const reports = new S3ReportStore(s3, settings.WORK_BUCKET);
  /** What a paused split keeps in the work bucket (held messages, a bulk split's open part). */
  const putWorkObject = async (Key: string, Body: string, ContentType: string, extra: { Tagging?: string } = {}) => {
    await s3.send(new PutObjectCommand({ Bucket: settings.WORK_BUCKET, Key, Body, ContentType, ...extra }));
  };
  return {
    ...(fieldLists ? { fieldLists } : {}),
    putRowMarks: (file, marks) => reports.putRowMarks(file, marks),
    describe: (dropped) => headS3Object(s3, dropped),
    open: (dropped) => streamS3Object(s3, dropped),
    openFrom: (dropped, fromByte) => streamS3Object(s3, dropped, fromByte),
    openInflatedCopy: (key, fromByte) => streamS3Object(s3, { bucket: settings.WORK_BUCKET, key }, fromByte),
    heldMessages: (file) => ({
      put: (part, ndjson) =>
        putWorkObject(heldMessagesKey(file.reportPrefix, part), ndjson, "application/x-ndjson; charset=utf-8"),
      read: (part) => readS3Text(s3, settings.WORK_BUCKET, heldMessagesKey(file.reportPrefix, part)),
    }),
    openBulkParts: (file) => ({
      // Input rows: tagged to expire with the other row data.
      put: (rowsRead, json) =>
        putWorkObject(openBulkPartKey(file.reportPrefix, rowsRead), json, "application/json; charset=utf-8", {
          Tagging: ROW_DATA_TAGGING,
        }),
      read: (rowsRead) => readS3Text(s3, settings.WORK_BUCKET, openBulkPartKey(file.reportPrefix, rowsRead)),
    }),
    readSidecar: (dropped) => readOptionalS3Text(s3, dropped.bucket, `${dropped.key}${SIDECAR_SUFFIX}`),
    publisher: createIngestionBatchSink(s3, sqs, settings.WORK_BUCKET, settings.INGESTION_QUEUE_URL),
    reports,
    clock: systemClock,
    limits: { maxObjects: settings.MAX_REQUEST_OBJECTS, maxBytes: settings.MAX_REQUEST_BYTES },
    readerLimits: readerLimitsOf(settings),
    defaults: settings.DEFAULT_FILE_OPTIONS,
    bulk: {
      sink: createBulkPartSink(s3, sqs, settings.WORK_BUCKET, settings.BULK_QUEUE_URL),
      maxPartBytes: settings.BULK_MAX_PART_BYTES,
    },
    guards: fileGuardsOf(settings),
    claims: new S3ClaimStore<FileClaim>(s3, settings.WORK_BUCKET),
    leaseMs: settings.SPLIT_CLAIM_LEASE_MS,
    ...(settings.SPLIT_CONTINUATION_QUEUE_URL
      ? { continuation: continuationDeps(settings, settings.SPLIT_CONTINUATION_QUEUE_URL, s3, sqs) }
      : {}),
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
  };
}

/** Longest wait for a describe answer: a file waits on it before its first row is read. */
const DESCRIBE_TIMEOUT_MS = 10_000;

/**
 * Marketo's field lists for the arrival check, one cache per container (built once per runtime, not per file);
 * undefined when the function has no secret. The secret is read on first use, never at cold start.
 */
export function createFieldLists(
  settings: SplitterSettings,
  env: Record<string, string | undefined>,
): FieldLists | undefined {
  const secretId = settings.MARKETO_SECRET_ID;
  if (!secretId) return undefined;
  const dispatcher = createMarketoDispatcher({ timeoutMs: DESCRIBE_TIMEOUT_MS });
  const lists = lazyMarketoClient(
    createSecretsClient(env),
    secretId,
    dispatcher,
    ({ endpoints, tokens }) =>
      new CachedFieldLists((path) => describeFields({ endpoints, tokens, dispatcher, clock: systemClock }, path), {
        ttlMs: settings.FIELD_LIST_TTL_MS,
        clock: systemClock,
      }),
  );
  return { fieldsFor: async (route) => (await lists()).fieldsFor(route) };
}

/** A split file's row counts as metrics, for both handlers (rejected counts every row, not the first 100 kept). */
export function addSplitMetrics(metrics: PipelineMetrics, manifest: SplitManifest): void {
  metrics.add(METRIC.rowsRead, "Count", manifest.rowsRead);
  metrics.add(METRIC.rowsQueued, "Count", manifest.rowsQueued);
  metrics.add(METRIC.rowsRejected, "Count", rejectedCountOf(manifest));
}

function continuationDeps(
  settings: SplitterSettings,
  queueUrl: string,
  s3: S3Client,
  sqs: SQSClient,
): ContinuationDeps {
  return {
    checkpoints: new S3ClaimStore<unknown>(s3, settings.WORK_BUCKET),
    continueLater: async (message: SplitQueueMessage) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
    },
    inflateCopy: (dropped, key) =>
      inflateIntoWorkBucket(s3, settings.WORK_BUCKET, dropped, key, fileGuardsOf(settings)),
    safetyMarginMs: settings.SPLIT_SAFETY_MARGIN_MS,
  };
}

/**
 * The fallback for gzip: a deflate stream cannot be entered mid-way (zlib's window is not exposed), so a gzip file
 * that outlasts one invocation is inflated once into the work bucket (a multipart upload, under the same zip-bomb
 * guards), and the split reads on from its checkpoint in that copy with ranged GETs.
 */
async function inflateIntoWorkBucket(
  s3: S3Client,
  bucket: string,
  dropped: DroppedFile,
  key: string,
  guards: FileGuards,
): Promise<number> {
  let bytes = 0;
  const inflated = inflateIfGzip(streamS3Object(s3, dropped), true, guards);
  const counted = (async function* () {
    for await (const chunk of inflated) {
      bytes += chunk.length;
      yield chunk;
    }
  })();
  // A copy of input rows: tagged to expire with the other row data.
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: Readable.from(counted), Tagging: ROW_DATA_TAGGING },
  }).done();
  return bytes;
}
