import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { createIntakeHandler } from "../functions/splitter/intake-handler.ts";
import { createSplitterHandler } from "../functions/splitter/handler.ts";
import { S3ReportStore } from "../shared/aws/s3-report-store.ts";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import type { MarketoSecret } from "../shared/config/marketo-secret.ts";
import type { FileRef } from "../shared/contracts/batch-message.ts";
import { type IntakeWindow, IntakeWindowSchema, INTAKE_PREFIX } from "../shared/contracts/intake-window.ts";
import { fileRefFor } from "../shared/contracts/s3-event.ts";
import type { FileReport } from "../shared/report/build-file-report.ts";
import { type IntakeMessageOutcome, windowMessageOutcomes } from "../shared/report/intake-outcomes.ts";
import { type FileReportSummary, type SplitManifest, summarizeReport } from "../shared/report/file-report.ts";
import { type Clock, systemClock } from "../shared/time/clock.ts";
import type { LocalAws } from "./local-aws.ts";
import {
  countDeadLetters,
  countMessages,
  type DownstreamOptions,
  drainDownstream,
  localSplitterEnv,
  SECRET_ID,
  serveSplitContinuations,
} from "./run-pipeline-locally.ts";
import { lambdaContext } from "./lambda-context.ts";
import { type EventSourceStats, runSqsEventSource } from "./sqs-event-source.ts";

export interface IntakeRunOptions extends Partial<Omit<DownstreamOptions, "startedAt" | "clock">> {
  aws: LocalAws;
  marketo: MarketoSecret;
  /** Extra configuration of the intake function (limits, defaults). */
  intakeEnv?: Record<string, string>;
  /**
   * Extra configuration of the splitter, which goes on with intake splits that paused or were deferred: the
   * intake function's, as deployed (they share the split settings), then this.
   */
  splitterEnv?: Record<string, string>;
  /**
   * The time each intake invocation has left, and each splitter invocation that continues an intake split, as
   * Lambda's `context.getRemainingTimeInMillis` (called anew per invocation): a short budget makes splits pause.
   */
  intakeTime?: () => () => number;
  splitterTime?: () => () => number;
  /** The intake event source: the stack's batch size, window and concurrency unless given. */
  intakeEventSource?: {
    batchSize?: number;
    batchingWindowMs?: number;
    maxConcurrency?: number;
    deadlineMs?: number;
    /** While true, the intake keeps polling an empty queue (producers still sending). */
    keepPolling?: () => boolean;
  };
  clock?: Clock;
  /**
   * Run the senders while the intake still gathers, as deployed (for latency measurements). By default they run
   * once the intake queue has drained: on this shared machine that is several times faster for a large burst.
   */
  concurrentDownstream?: boolean;
  onProgress?: (progress: IntakeRunProgress) => void;
  /** After each intake invocation: its SQS message ids and when it started and returned (for latency breakdowns). */
  onIntakeInvocation?: (invocation: { messageIds: string[]; invokedAt: number; returnedAt: number }) => void;
}

export type IntakeRunProgress =
  { phase: "intake"; stats: EventSourceStats } | { phase: "send"; batchesDone: number; stats: EventSourceStats };

/** One window this run created, with its report objects. */
export interface IntakeWindowResult {
  key: string;
  window: IntakeWindow;
  file: FileRef;
  manifest: SplitManifest | undefined;
  summary: FileReportSummary;
  report: FileReport | undefined;
  messages: IntakeMessageOutcome[];
}

export interface IntakeRunResult {
  windows: IntakeWindowResult[];
  /** Totals over the windows, per record. */
  summary: Omit<FileReportSummary, "status" | "requestIds">;
  /** Messages in the intake DLQ after the run (invalid ones, with their reason as attributes). */
  intakeDeadLetters: number;
  /** Messages in the ingestion, bulk and report DLQs after the run. */
  deadLetterMessages: number;
  intakeEventSource: EventSourceStats;
  eventSource: EventSourceStats;
  elapsedMs: number;
}

/**
 * Runs what the deployment runs for messages producers put on the intake queue: the intake function driven by a
 * local event source with the stack's batch size and batching window, the splitter on the split-continuation queue
 * (intake splits that paused or were deferred), then the senders and report writer until every queue drains. The
 * messages must already be on `aws.intakeQueueUrl`.
 */
export async function runIntakeLocally(options: IntakeRunOptions): Promise<IntakeRunResult> {
  const clock = options.clock ?? systemClock;
  const { aws } = options;
  const startedAt = clock.now();
  aws.secrets.putSecret(SECRET_ID, JSON.stringify(options.marketo));
  const before = new Set(await listWindowKeys(aws));
  const intake = createIntakeHandler({
    ...localSplitterEnv(aws, options.intakeEnv),
    INTAKE_QUEUE_URL: aws.intakeQueueUrl,
    INTAKE_DLQ_URL: aws.intakeDlqUrl,
  });
  const timedIntake: typeof intake = async (event, context) => {
    const invokedAt = clock.now();
    try {
      return await intake(event, context);
    } finally {
      const messageIds = event.Records.map((record) => record.messageId);
      options.onIntakeInvocation?.({ messageIds, invokedAt, returnedAt: clock.now() });
    }
  };
  const source = options.intakeEventSource ?? {};
  let intakeRunning = true;
  const intakeRun = runSqsEventSource({
    sqs: aws.sqs,
    queueUrl: aws.intakeQueueUrl,
    handler: timedIntake,
    functionName: "intake",
    batchSize: source.batchSize ?? DEPLOYMENT_DEFAULTS.intakeBatchSize,
    batchingWindowMs: source.batchingWindowMs ?? DEPLOYMENT_DEFAULTS.intakeBatchingWindowSeconds * 1000,
    maxConcurrency: source.maxConcurrency ?? DEPLOYMENT_DEFAULTS.intakeMaxConcurrency,
    functionTimeoutMs: DEPLOYMENT_DEFAULTS.intakeTimeoutSeconds * 1000,
    deadlineMs: source.deadlineMs ?? 30 * 60_000,
    ...(source.keepPolling ? { keepPolling: source.keepPolling } : {}),
    ...(options.intakeTime ? { invocationTime: options.intakeTime } : {}),
    clock,
    onInvocation: (stats) => options.onProgress?.({ phase: "intake", stats }),
  })
    .then(async (stats) => {
      // Splits the intake paused or deferred go on in the splitter, through the split-continuation queue.
      const splitter = createSplitterHandler(localSplitterEnv(aws, { ...options.intakeEnv, ...options.splitterEnv }));
      const time = options.splitterTime;
      await serveSplitContinuations(aws, clock, (event) =>
        splitter(
          event,
          lambdaContext("splitter", { requestId: randomUUID(), ...(time ? { remainingMs: time() } : {}) }),
        ),
      );
      return stats;
    })
    .finally(() => {
      intakeRunning = false;
    });
  const downstream = () =>
    drainDownstream(
      aws,
      { ...options, startedAt, clock },
      (stats, queue) => {
        // The ingestion queue's counts only: the bulk importer's event source keeps its own.
        if (queue === "ingestion") options.onProgress?.({ phase: "send", batchesDone: stats.messagesDeleted, stats });
      },
      () => intakeRunning,
    );
  const [intakeEventSource, { eventSource }] = options.concurrentDownstream
    ? await Promise.all([intakeRun, downstream()])
    : [await intakeRun, await downstream()];

  const reports = new S3ReportStore(aws.s3, aws.workBucket);
  const windows: IntakeWindowResult[] = [];
  for (const key of (await listWindowKeys(aws)).filter((k) => !before.has(k))) {
    const window = await readWindow(aws, key);
    const object = await aws.s3.send(new HeadObjectCommand({ Bucket: aws.workBucket, Key: key }));
    const file = fileRefFor({ bucket: aws.workBucket, key, eTag: (object.ETag ?? "").replace(/"/g, "") });
    const manifest = await reports.getManifest(file);
    const outcomes = await reports.listBatchOutcomes(file);
    windows.push({
      key,
      window,
      file,
      manifest,
      summary: summarizeReport(manifest, outcomes),
      report: await reports.getFileReport(file),
      messages: await windowMessageOutcomes(window, manifest, outcomes, (parts) =>
        reports.readRejectedRows(file, parts),
      ),
    });
  }
  const total = {
    rowsRead: 0,
    accepted: 0,
    rejected: 0,
    failed: 0,
    deadLettered: 0,
    warned: 0,
    pending: 0,
    requests: 0,
  };
  for (const { summary } of windows) {
    for (const name of Object.keys(total) as Array<keyof typeof total>) total[name] += summary[name];
  }
  return {
    windows,
    summary: total,
    intakeDeadLetters: await countMessages(aws, aws.intakeDlqUrl),
    deadLetterMessages: await countDeadLetters(aws),
    intakeEventSource,
    eventSource,
    elapsedMs: clock.now() - startedAt,
  };
}

async function listWindowKeys(aws: LocalAws): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await aws.s3.send(
      new ListObjectsV2Command({ Bucket: aws.workBucket, Prefix: INTAKE_PREFIX, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key?.endsWith(".ndjson")) keys.push(object.Key);
    }
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function readWindow(aws: LocalAws, key: string): Promise<IntakeWindow> {
  const object = await aws.s3.send(new GetObjectCommand({ Bucket: aws.workBucket, Key: `${key}.window.json` }));
  return IntakeWindowSchema.parse(JSON.parse((await object.Body?.transformToString()) ?? ""));
}
