import { lambdaContext } from "./lambda-context.ts";
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { Upload } from "@aws-sdk/lib-storage";
import type { S3Event, SQSEvent } from "aws-lambda";
import { createBulkImporterHandler } from "../functions/bulk-importer/handler.ts";
import { createSenderHandler } from "../functions/ingestion-sender/handler.ts";
import { createReportWriterHandler } from "../functions/report-writer/handler.ts";
import { createSplitterHandler } from "../functions/splitter/handler.ts";
import { S3ReportStore } from "../shared/aws/s3-report-store.ts";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import type { MarketoSecret } from "../shared/config/marketo-secret.ts";
import type { FileRef } from "../shared/contracts/batch-message.ts";
import { SIDECAR_SUFFIX } from "../functions/splitter/process-dropped-file.ts";
import { splitFailureEvent } from "./split-failure-event.ts";
import { fileRefFor } from "../shared/contracts/s3-event.ts";
import type { FileReport } from "../shared/report/build-file-report.ts";
import type { BatchOutcome, FileReportSummary, SplitManifest } from "../shared/report/file-report.ts";
import { rejectedCountOf, summarizeReport } from "../shared/report/file-report.ts";
import { type Clock, systemClock } from "../shared/time/clock.ts";
import type { LocalAws } from "./local-aws.ts";
import { objectCreatedEvent } from "./s3-notification.ts";
import { type EventSourceStats, runSqsEventSource, sqsRecordFor } from "./sqs-event-source.ts";

export interface LocalRunOptions {
  aws: LocalAws;
  /** The file to drop: a path on disk or bytes. */
  source: { path: string } | { bytes: Uint8Array };
  /** Key in the drop bucket; its prefix names the object type (`persons/…`, `customobjects/car_c/…`). */
  key: string;
  /** S3 user metadata put on the object (per-file options such as `priority`, `dedupe-by`). */
  metadata?: Record<string, string>;
  /** `Content-Encoding` of the object (`gzip` marks a compressed file without a `.gz` name). */
  contentEncoding?: string;
  /** A sidecar options manifest, uploaded as `{key}.options.json` before the file. */
  sidecar?: string;
  /** Where Marketo is: the simulator's secret or a real instance's. */
  marketo: MarketoSecret;
  /** Extra function configuration (retry timings, limits, defaults). */
  splitterEnv?: Record<string, string>;
  senderEnv?: Record<string, string>;
  bulkEnv?: Record<string, string>;
  reportEnv?: Record<string, string>;
  /**
   * How the S3 notification reaches the splitter. By default as Lambda's asynchronous invocation does: one
   * request id, and two retries with that id when the invocation fails. Tests deliver it twice, or concurrently.
   */
  deliverEvent?: (invoke: (event: S3Event, requestId: string) => Promise<void>, event: S3Event) => Promise<void>;
  eventSource?: { batchSize?: number; maxConcurrency?: number; deadlineMs?: number; functionTimeoutMs?: number };
  /** The bulk importer's event source (the stack's settings unless given). */
  bulkEventSource?: { batchSize?: number; maxConcurrency?: number };
  clock?: Clock;
  onProgress?: (progress: LocalRunProgress) => void;
  /**
   * The time each splitter invocation has left, as Lambda's `context.getRemainingTimeInMillis` (called anew per
   * invocation): a short budget makes a split pause and go on through the split-continuation queue.
   */
  splitterTime?: () => () => number;
}

export type LocalRunProgress =
  | { phase: "upload"; bytes: number }
  | {
      phase: "split";
      rowsRead: number;
      rowsRejected: number;
      batches: number;
      status: string;
      /** Splitter invocations the split took: the first, then one per continuation. */
      invocations: number;
    }
  /** Batches (requests or import parts) with a final outcome so far, and the rows they accepted. */
  | { phase: "send"; rowsRead: number; batchesDone: number; batches: number; accepted: number };

export interface LocalRunResult {
  file: FileRef;
  manifest: SplitManifest | undefined;
  outcomes: BatchOutcome[];
  summary: FileReportSummary;
  /** `report.json` as the report writer left it (final once every batch ended). */
  report: FileReport | undefined;
  /** Splitter invocations the split took (more than one when it paused and went on). */
  splitInvocations: number;
  /** Messages sitting in the ingestion and bulk DLQs after the run. */
  deadLetterMessages: number;
  eventSource: EventSourceStats;
  bulkEventSource: EventSourceStats;
  /** The report writer's invocations. */
  reportEventSource: EventSourceStats;
  elapsedMs: number;
}

export const SECRET_ID = "marketo-ingest/marketo";

/**
 * Runs the deployed code path on one file: upload to the drop bucket, the splitter handler on the S3 event, the
 * sender handler driven by a local SQS event source until the queue drains, then the file's report.
 */
export async function runPipelineLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const clock = options.clock ?? systemClock;
  const { aws } = options;
  const startedAt = clock.now();
  aws.secrets.putSecret(SECRET_ID, JSON.stringify(options.marketo));

  if (options.sidecar !== undefined) {
    await aws.s3.send(
      new PutObjectCommand({ Bucket: aws.dropBucket, Key: `${options.key}${SIDECAR_SUFFIX}`, Body: options.sidecar }),
    );
  }
  const uploaded = await upload(aws, options);
  const splitter = createSplitterHandler(localSplitterEnv(aws, options.splitterEnv));
  options.onProgress?.({ phase: "upload", bytes: uploaded.size });
  const dropped = { bucket: aws.dropBucket, key: options.key, size: uploaded.size, eTag: uploaded.eTag };
  const splitterContext = (requestId: string) =>
    lambdaContext("splitter", { requestId, ...(options.splitterTime ? { remainingMs: options.splitterTime() } : {}) });
  const invoke = (event: S3Event, requestId: string) => splitter(event, splitterContext(requestId));
  const created = objectCreatedEvent(dropped);
  const failedFor: { requestId: string; attempts: number } = { requestId: randomUUID(), attempts: 0 };
  const counted = (event: S3Event, requestId: string) => {
    failedFor.attempts++;
    failedFor.requestId = requestId;
    return invoke(event, requestId);
  };
  try {
    await (options.deliverEvent ?? invokeAsLambdaRetries)(counted, created);
  } catch (error) {
    // Lambda's retries are spent: the event and the error go to the split-failures queue, whose records the
    // splitter reads back to give the file a `failed` report (as deployed; a failure there fails the run).
    await splitter(
      splitFailureEvent(created, error, failedFor.requestId, failedFor.attempts),
      lambdaContext("splitter", { requestId: randomUUID() }),
    );
  }

  const continuations = await serveSplitContinuations(aws, clock, (event) =>
    splitter(event, splitterContext(randomUUID())),
  );

  const file: FileRef = fileRefFor(dropped);
  const reports = new S3ReportStore(aws.s3, aws.workBucket);
  const manifest = await reports.getManifest(file);
  options.onProgress?.({
    phase: "split",
    rowsRead: manifest?.rowsRead ?? 0,
    rowsRejected: manifest ? rejectedCountOf(manifest) : 0,
    batches: manifest?.batches ?? 0,
    status: manifest?.status ?? "missing",
    invocations: 1 + continuations,
  });
  const onProgress = options.onProgress;
  const progress =
    onProgress && manifest?.status === "queued"
      ? new SendProgress(reports, file, manifest, clock, onProgress)
      : undefined;
  const reportProgress = () => progress?.poke();
  const { eventSource, bulkEventSource, reportEventSource } = await drainDownstream(
    aws,
    { ...options, startedAt, clock },
    reportProgress,
  );
  await progress?.finish();
  const outcomes = await reports.listBatchOutcomes(file);
  return {
    file,
    manifest,
    outcomes,
    summary: summarizeReport(manifest, outcomes),
    splitInvocations: 1 + continuations,
    report: await reports.getFileReport(file),
    deadLetterMessages: await countDeadLetters(aws),
    eventSource,
    bulkEventSource,
    reportEventSource,
    elapsedMs: clock.now() - startedAt,
  };
}

/** The splitter's environment locally (the intake function's too: it splits the same way). */
export function localSplitterEnv(aws: LocalAws, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...aws.awsEnv,
    INGESTION_QUEUE_URL: aws.ingestionQueueUrl,
    BULK_QUEUE_URL: aws.bulkQueueUrl,
    WORK_BUCKET: aws.workBucket,
    REPORT_QUEUE_URL: aws.reportQueueUrl,
    // As deployed: the splitter may read the secret, for files whose options ask for the field check.
    MARKETO_SECRET_ID: SECRET_ID,
    SPLIT_CONTINUATION_QUEUE_URL: aws.splitContinuationQueueUrl,
    // Locally the report writer runs after the queues drained: nothing to wait for.
    REPORT_FIRST_CHECK_SECONDS: "0",
    ...extra,
  };
}

/** The sender, bulk importer and report writer handlers, configured as a local run deploys them. */
export function downstreamHandlers(
  aws: LocalAws,
  options: Pick<LocalRunOptions, "senderEnv" | "bulkEnv" | "reportEnv">,
) {
  const sender = createSenderHandler({
    ...aws.awsEnv,
    MARKETO_SECRET_ID: SECRET_ID,
    INGESTION_QUEUE_URL: aws.ingestionQueueUrl,
    INGESTION_DLQ_URL: aws.ingestionDlqUrl,
    WORK_BUCKET: aws.workBucket,
    MAX_ATTEMPTS: String(DEPLOYMENT_DEFAULTS.maxAttempts),
    ...options.senderEnv,
  });
  const bulkImporter = createBulkImporterHandler({
    ...aws.awsEnv,
    MARKETO_SECRET_ID: SECRET_ID,
    BULK_QUEUE_URL: aws.bulkQueueUrl,
    BULK_DLQ_URL: aws.bulkDlqUrl,
    WORK_BUCKET: aws.workBucket,
    ...options.bulkEnv,
  });

  const reportWriter = createReportWriterHandler({
    ...aws.awsEnv,
    REPORT_QUEUE_URL: aws.reportQueueUrl,
    REPORT_DLQ_URL: aws.reportDlqUrl,
    WORK_BUCKET: aws.workBucket,
    REPORT_RECHECK_FIRST_SECONDS: "1",
    REPORT_RECHECK_MAX_SECONDS: "1",
    ...options.reportEnv,
  });
  return { sender, bulkImporter, reportWriter };
}

/** The stages after a split, as a local run configures them. */
export type DownstreamOptions = Pick<
  LocalRunOptions,
  "senderEnv" | "bulkEnv" | "reportEnv" | "eventSource" | "bulkEventSource"
> & { startedAt: number; clock: Clock };

/**
 * Serves the ingestion and bulk queues until they drain (as their event sources would), then the report queue:
 * every split file's batches end in Marketo or a DLQ, and each file gets its report.
 */
export async function drainDownstream(
  aws: LocalAws,
  options: DownstreamOptions,
  /** After each sender or bulk importer invocation, with that queue's event source counts. */
  onSendProgress?: (stats: EventSourceStats, queue: "ingestion" | "bulk") => void,
  /** While true (an upstream stage still queues batches), an empty ingestion or bulk queue is not the end. */
  keepPolling?: () => boolean,
): Promise<{ eventSource: EventSourceStats; bulkEventSource: EventSourceStats; reportEventSource: EventSourceStats }> {
  const { startedAt, clock } = options;
  const { sender, bulkImporter, reportWriter } = downstreamHandlers(aws, options);

  const deadlineMs = options.eventSource?.deadlineMs ?? 30 * 60_000;
  // Both queues are served at once, as the deployed event sources would; each run ends when its queue drains.
  const [eventSource, bulkEventSource] = await Promise.all([
    runSqsEventSource({
      sqs: aws.sqs,
      queueUrl: aws.ingestionQueueUrl,
      handler: sender,
      functionName: "ingestion-sender",
      batchSize: options.eventSource?.batchSize ?? DEPLOYMENT_DEFAULTS.senderBatchSize,
      maxConcurrency: options.eventSource?.maxConcurrency ?? DEPLOYMENT_DEFAULTS.senderMaxConcurrency,
      functionTimeoutMs: options.eventSource?.functionTimeoutMs ?? DEPLOYMENT_DEFAULTS.senderTimeoutSeconds * 1000,
      deadlineMs,
      clock,
      ...(keepPolling ? { keepPolling } : {}),
      ...(onSendProgress ? { onInvocation: (stats: EventSourceStats) => onSendProgress(stats, "ingestion") } : {}),
    }),
    runSqsEventSource({
      sqs: aws.sqs,
      queueUrl: aws.bulkQueueUrl,
      handler: bulkImporter,
      functionName: "bulk-importer",
      batchSize: options.bulkEventSource?.batchSize ?? DEPLOYMENT_DEFAULTS.bulkImporterBatchSize,
      maxConcurrency: options.bulkEventSource?.maxConcurrency ?? DEPLOYMENT_DEFAULTS.bulkImporterMaxConcurrency,
      functionTimeoutMs: DEPLOYMENT_DEFAULTS.bulkImporterTimeoutSeconds * 1000,
      deadlineMs,
      clock,
      ...(keepPolling ? { keepPolling } : {}),
      ...(onSendProgress ? { onInvocation: (stats: EventSourceStats) => onSendProgress(stats, "bulk") } : {}),
    }),
  ]);
  // Then the report: every batch has ended (unless a queue hit the deadline, and then the report says running).
  const reportEventSource = await runSqsEventSource({
    sqs: aws.sqs,
    queueUrl: aws.reportQueueUrl,
    handler: reportWriter,
    functionName: "report-writer",
    batchSize: DEPLOYMENT_DEFAULTS.reportWriterBatchSize,
    maxConcurrency: DEPLOYMENT_DEFAULTS.reportWriterMaxConcurrency,
    functionTimeoutMs: DEPLOYMENT_DEFAULTS.reportWriterTimeoutSeconds * 1000,
    deadlineMs: Math.min(deadlineMs, Math.max(5_000, startedAt + deadlineMs - clock.now())),
    clock,
  });
  return { eventSource, bulkEventSource, reportEventSource };
}

/** Least time between two looks at the batch outcomes for progress. */
const PROGRESS_INTERVAL_MS = 1_000;

/**
 * Live counts for the send phase, read from the batch outcomes as the handlers write them: one listing per look,
 * each outcome read once, at most one look per second and never two at a time. Progress only: the summary and the
 * report are computed from all outcomes at the end.
 */
class SendProgress {
  private readonly seen = new Set<string>();
  private batchesDone = 0;
  private accepted = 0;
  private lastLookAt = Number.NEGATIVE_INFINITY;
  private looking: Promise<void> | undefined;

  constructor(
    private readonly reports: S3ReportStore,
    private readonly file: FileRef,
    private readonly manifest: SplitManifest,
    private readonly clock: Clock,
    private readonly onProgress: (progress: LocalRunProgress) => void,
  ) {}

  /** After an invocation: look again unless a look is under way or was taken less than a second ago. */
  poke(): void {
    if (this.looking || this.clock.now() - this.lastLookAt < PROGRESS_INTERVAL_MS) return;
    this.looking = this.look().finally(() => {
      this.looking = undefined;
    });
  }

  /** The last look, once the queues drained: the counts then include every batch. */
  async finish(): Promise<void> {
    await this.looking;
    await this.look();
  }

  private async look(): Promise<void> {
    this.lastLookAt = this.clock.now();
    let fresh: BatchOutcome[];
    try {
      fresh = await this.reports.readNewBatchOutcomes(this.file, this.seen);
    } catch {
      // A missed look only delays the progress line; the run's result does not depend on it.
      return;
    }
    for (const outcome of fresh) {
      this.batchesDone++;
      if (outcome.status === "accepted") this.accepted += outcome.rowCount - (outcome.rowFailures?.length ?? 0);
    }
    this.onProgress({
      phase: "send",
      rowsRead: this.manifest.rowsRead,
      batchesDone: this.batchesDone,
      batches: this.manifest.batches,
      accepted: this.accepted,
    });
  }
}

/**
 * The split-continuation queue's event source: each message starts a fresh splitter invocation (batch size 1, as
 * deployed) until no split asks for another: continuations of dropped files' splits and of the intake function's
 * (paused or deferred). A failed invocation leaves its message for another receive. Returns the invocations made.
 */
export async function serveSplitContinuations(
  aws: LocalAws,
  clock: Clock,
  invoke: (event: SQSEvent) => Promise<void>,
): Promise<number> {
  const queueUrl = aws.splitContinuationQueueUrl;
  for (let invocations = 0; ; invocations++) {
    const { Messages } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        MessageSystemAttributeNames: ["All"],
        WaitTimeSeconds: 0,
      }),
    );
    const message = Messages?.[0];
    if (!message) return invocations;
    try {
      await invoke({ Records: [sqsRecordFor(message, { clock, queueArn: SPLIT_CONTINUATION_ARN })] });
      await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    } catch {
      await aws.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
  }
}

const SPLIT_CONTINUATION_ARN = "arn:aws:sqs:us-east-1:000000000000:marketo-ingest-split-continuation";

/** Lambda's asynchronous invocation: the same request id for the event and its two retries after failures. */
export async function invokeAsLambdaRetries(
  invoke: (event: S3Event, requestId: string) => Promise<void>,
  event: S3Event,
): Promise<void> {
  const requestId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      return await invoke(event, requestId);
    } catch (error) {
      // After the retries Lambda sends the event and this error to the splitter's on-failure destination.
      if (attempt >= 3) throw error;
    }
  }
}

async function upload(aws: LocalAws, options: LocalRunOptions): Promise<{ size: number; eTag: string }> {
  const body = "path" in options.source ? createReadStream(options.source.path) : options.source.bytes;
  const size = "path" in options.source ? (await stat(options.source.path)).size : options.source.bytes.byteLength;
  // Multipart above 8 MiB, as the S3 console and CLI do; the emulator refuses very large single PUTs.
  const result = await new Upload({
    client: aws.s3,
    params: {
      Bucket: aws.dropBucket,
      Key: options.key,
      Body: body,
      ...(options.metadata ? { Metadata: options.metadata } : {}),
      ...(options.contentEncoding ? { ContentEncoding: options.contentEncoding } : {}),
    },
    partSize: 8 * 1024 * 1024,
  }).done();
  return { size, eTag: (result.ETag ?? "").replace(/"/g, "") };
}

/** Messages in the ingestion, bulk and report DLQs together (a local run's undeliverable batches). */
export async function countDeadLetters(aws: LocalAws): Promise<number> {
  const counts = await Promise.all(
    [aws.ingestionDlqUrl, aws.bulkDlqUrl, aws.reportDlqUrl].map((url) => countMessages(aws, url)),
  );
  return counts.reduce((total, count) => total + count, 0);
}

export async function countMessages(aws: LocalAws, queueUrl: string): Promise<number> {
  const { Attributes } = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
