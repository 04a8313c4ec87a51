import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { lambdaContext } from "./lambda-context.ts";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Clock } from "../shared/time/clock.ts";

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface EventSourceOptions {
  /** Names the function in the invocation context (and so in its log lines). */
  functionName?: string;
  sqs: SQSClient;
  queueUrl: string;
  queueArn?: string;
  handler: SqsHandler;
  /** Messages per invocation (the event source's BatchSize). */
  batchSize: number;
  /**
   * The event source's MaximumBatchingWindowInSeconds, in ms: messages are gathered for up to this long (or until
   * `batchSize` or the 6 MB invoke payload) before one invocation. Without it, one receive is one invocation.
   */
  batchingWindowMs?: number;
  /** Concurrent invocations (the event source's MaximumConcurrency). */
  maxConcurrency: number;
  /** The function's timeout, reported through getRemainingTimeInMillis. */
  functionTimeoutMs: number;
  /** Instead: the time each invocation has left (called anew per invocation), e.g. a short budget for a test. */
  invocationTime?: () => () => number;
  /** While this says true, an empty queue is not the end (a producer is still sending). */
  keepPolling?: () => boolean;
  /** Stop polling after this long even if messages remain (bounded loops). */
  deadlineMs: number;
  clock: Clock;
  onInvocation?: (stats: EventSourceStats) => void;
}

export interface EventSourceStats {
  invocations: number;
  messagesReceived: number;
  messagesDeleted: number;
  messagesReturned: number;
  handlerErrors: number;
  /** Milliseconds the handler ran, summed over invocations (each rounded up to 1 ms): the duration Lambda bills. */
  handlerMs: number;
}

/**
 * Plays the part of Lambda's SQS event source mapping locally: long-polls the queue, invokes the handler with
 * real-shaped SQS events, deletes what the handler did not report as failed, and leaves failures to the queue's
 * visibility timeout and redrive policy. Returns when the queue is drained (or at the deadline).
 */
export async function runSqsEventSource(options: EventSourceOptions): Promise<EventSourceStats> {
  const stats: EventSourceStats = {
    invocations: 0,
    messagesReceived: 0,
    messagesDeleted: 0,
    messagesReturned: 0,
    handlerErrors: 0,
    handlerMs: 0,
  };
  const stopAt = options.clock.now() + options.deadlineMs;
  let busy = 0;
  let drained = false;

  const worker = async (): Promise<void> => {
    while (!drained && options.clock.now() < stopAt) {
      const messages =
        options.batchingWindowMs === undefined
          ? await receive(options, options.batchSize)
          : await gather(options, options.batchingWindowMs);
      if (messages.length === 0) {
        if (busy === 0 && !options.keepPolling?.() && (await isEmpty(options))) {
          drained = true;
          return;
        }
        await options.clock.sleep(50);
        continue;
      }
      busy++;
      try {
        await invoke(messages, options, stats);
      } finally {
        busy--;
      }
      options.onInvocation?.(stats);
    }
  };
  await Promise.all(Array.from({ length: options.maxConcurrency }, worker));
  return stats;
}

async function receive(options: EventSourceOptions, max: number): Promise<Message[]> {
  const received = await options.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: max,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
      WaitTimeSeconds: 0,
    }),
  );
  return received.Messages ?? [];
}

/** Lambda's synchronous invoke payload limit: a batch stops growing before its event would exceed it. */
const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;

/**
 * Gathers one batch as the event source does with a batching window: receives (10 at a time, SQS's maximum)
 * until the batch is full, its event would pass 6 MB, the queue is empty, or (while producers are still
 * sending) the window since the first message has passed.
 */
async function gather(options: EventSourceOptions, windowMs: number): Promise<Message[]> {
  const batch: Message[] = [];
  let payloadBytes = 0;
  let windowEndsAt: number | undefined;
  while (batch.length < options.batchSize) {
    const received = await receive(options, Math.min(10, options.batchSize - batch.length));
    if (received.length === 0) {
      // Lambda would wait out the window; locally, with no producer still sending, nothing more will come.
      if (windowEndsAt === undefined || options.clock.now() >= windowEndsAt || !options.keepPolling?.()) break;
      await options.clock.sleep(20);
      continue;
    }
    windowEndsAt ??= options.clock.now() + windowMs;
    for (const [index, message] of received.entries()) {
      const bytes = Buffer.byteLength(JSON.stringify(sqsRecordFor(message, options))) + 1;
      if (payloadBytes + bytes > MAX_INVOKE_PAYLOAD_BYTES) {
        // Over the payload: these go back to the queue at once, as Lambda leaves them for the next batch.
        await release(options, received.slice(index));
        return batch;
      }
      payloadBytes += bytes;
      batch.push(message);
    }
    // The window only bounds a batch while producers are still sending: with every message already queued,
    // Lambda's pollers fill a batch to its cap well within the window, which the slower emulator would not.
    if (options.keepPolling?.() && options.clock.now() >= windowEndsAt) break;
  }
  return batch;
}

async function release(options: EventSourceOptions, messages: Message[]): Promise<void> {
  await options.sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: options.queueUrl,
      Entries: messages.map((m, i) => ({
        Id: String(i),
        ReceiptHandle: m.ReceiptHandle as string,
        VisibilityTimeout: 0,
      })),
    }),
  );
}

async function invoke(messages: Message[], options: EventSourceOptions, stats: EventSourceStats): Promise<void> {
  stats.invocations++;
  stats.messagesReceived += messages.length;
  const event: SQSEvent = { Records: messages.map((m) => sqsRecordFor(m, options)) };
  const deadline = options.clock.now() + options.functionTimeoutMs;
  let response: SQSBatchResponse | undefined;
  const started = options.clock.now();
  try {
    response = await options.handler(
      event,
      lambdaContext(options.functionName ?? "function", {
        remainingMs: options.invocationTime?.() ?? (() => Math.max(0, deadline - options.clock.now())),
      }),
    );
  } catch {
    stats.handlerMs += Math.max(1, Math.ceil(options.clock.now() - started));
    // Like Lambda: a thrown handler returns the whole batch to the queue.
    stats.handlerErrors++;
    stats.messagesReturned += messages.length;
    return;
  }
  stats.handlerMs += Math.max(1, Math.ceil(options.clock.now() - started));
  const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId as string));
  stats.messagesReturned += messages.length - done.length;
  if (done.length === 0) return;
  // DeleteMessageBatch takes 10 entries at most; a batching window's batch holds up to 10,000.
  for (let start = 0; start < done.length; start += 10) {
    await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done
          .slice(start, start + 10)
          .map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }
  stats.messagesDeleted += done.length;
}

async function isEmpty(options: EventSourceOptions): Promise<boolean> {
  const { Attributes } = await options.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: options.queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0) ===
    0
  );
}

/** A received message as Lambda's SQS event source hands it to a function (one record of an SQSEvent). */
export function sqsRecordFor(message: Message, options: Pick<EventSourceOptions, "queueArn" | "clock">): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(options.clock.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(options.clock.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: options.queueArn ?? "arn:aws:sqs:us-east-1:000000000000:marketo-ingest-ingestion",
    awsRegion: "us-east-1",
  };
}
