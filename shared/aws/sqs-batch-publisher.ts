import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from "@aws-sdk/client-sqs";
import type { BatchPublisher } from "../contracts/batch-publisher.ts";
import { BoundedWrites } from "../async/bounded-writes.ts";
import { toQueueSafeText } from "../text/queue-text.ts";
import { type Clock, systemClock } from "../time/clock.ts";

/** SQS caps a message and a whole SendMessageBatch request at 1 MiB, and a batch at 10 entries. */
export const SQS_MAX_BATCH_BYTES = 1_048_576;
export const SQS_MAX_BATCH_ENTRIES = 10;

export class PublishError extends Error {
  override readonly name = "PublishError";
}

export interface SqsBatchPublisherOptions {
  queueUrl: string;
  /** SendMessageBatch calls in flight at once. */
  concurrency?: number;
  /** Tries for entries SQS failed on its side. */
  maxAttempts?: number;
  clock?: Clock;
}

/** Groups messages into as few SendMessageBatch calls as the entry and byte limits allow, several in flight. */
export class SqsBatchPublisher implements BatchPublisher {
  private entries: SendMessageBatchRequestEntry[] = [];
  private bytes = 0;
  /** SendMessageBatch calls in flight: never more than `concurrency`, so memory stays bounded on huge files. */
  private readonly sending: BoundedWrites;
  private sentCalls = 0;

  constructor(
    private readonly sqs: SQSClient,
    private readonly options: SqsBatchPublisherOptions,
  ) {
    this.sending = new BoundedWrites(options.concurrency ?? 4);
  }

  /** SendMessageBatch calls made (for metrics). */
  get calls(): number {
    return this.sentCalls;
  }

  /** `body` is JSON; characters SQS refuses (in a file's key, say) go as JSON escapes (toQueueSafeText). */
  async publish(message: { id: string; body: string }): Promise<void> {
    this.sending.throwIfFailed();
    const body = toQueueSafeText(message.body);
    const size = Buffer.byteLength(body);
    if (size > SQS_MAX_BATCH_BYTES) throw new PublishError(`message ${message.id} is ${size} bytes, over SQS's limit`);
    if (this.entries.length >= SQS_MAX_BATCH_ENTRIES || this.bytes + size > SQS_MAX_BATCH_BYTES) {
      await this.dispatch();
    }
    this.entries.push({ Id: message.id, MessageBody: body });
    this.bytes += size;
  }

  async flush(): Promise<void> {
    await this.dispatch();
    await this.sending.settle();
  }

  private async dispatch(): Promise<void> {
    if (this.entries.length === 0) return;
    const entries = this.entries;
    this.entries = [];
    this.bytes = 0;
    // Backpressure: waits for room among the calls in flight (and throws an earlier call's failure).
    await this.sending.start(() => this.sendWithRetries(entries));
  }

  private async sendWithRetries(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    const maxAttempts = this.options.maxAttempts ?? 5;
    let pending = entries;
    for (let attempt = 1; pending.length > 0; attempt++) {
      this.sentCalls++;
      const result = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: pending }),
      );
      const failed = result.Failed ?? [];
      if (failed.length === 0) return;
      const senderFault = failed.find((f) => f.SenderFault);
      if (senderFault) {
        throw new PublishError(`SQS refused message ${senderFault.Id}: ${senderFault.Code} ${senderFault.Message}`);
      }
      if (attempt >= maxAttempts) {
        throw new PublishError(`SQS kept failing ${failed.length} messages after ${attempt} attempts`);
      }
      const failedIds = new Set(failed.map((f) => f.Id));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
      await clock.sleep(Math.min(100 * 2 ** attempt, 5_000));
    }
  }
}
