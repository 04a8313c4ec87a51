import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetterReason, DelayQueue, QueueControl } from "../contracts/queue-control.ts";
import { toQueueSafeText } from "../text/queue-text.ts";

/** SQS visibility timeouts top out at 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;
/** SQS message delays top out at 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

export class SqsQueueControl implements QueueControl, DelayQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterQueueUrl: string,
  ) {}

  async retryAfter(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, seconds)),
      }),
    );
  }

  /**
   * Queues `body` (JSON) again as a new message, visible after `delaySeconds` (SQS allows at most 900). Bodies and
   * attributes go through toQueueSafeText: a file's key may hold characters SQS refuses.
   */
  async requeue(body: string, delaySeconds: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: toQueueSafeText(body),
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds))),
      }),
    );
  }

  async deadLetter(body: string, reason: DeadLetterReason): Promise<void> {
    const attributes: Record<string, { DataType: string; StringValue: string }> = {};
    for (const [name, value] of Object.entries(reason)) {
      if (value === undefined) continue;
      const numeric = typeof value === "number";
      const text = toQueueSafeText(String(value)).slice(0, 1024);
      attributes[name] = { DataType: numeric ? "Number" : "String", StringValue: text };
    }
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: toQueueSafeText(body),
        MessageAttributes: attributes,
      }),
    );
  }
}
