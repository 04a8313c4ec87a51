import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

/**
 * Puts each body on an intake queue as its own message, 10 per SendMessageBatch (SQS's maximum), a few calls in
 * flight: what a producer does. Returns the SQS message ids in the order of `bodies`. Throws if SQS refuses one.
 */
export async function sendIntakeMessages(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly string[],
  options: { concurrency?: number; onSent?: (sent: number) => void } = {},
): Promise<string[]> {
  const ids: string[] = new Array<string>(bodies.length);
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const start = next;
      next += 10;
      const chunk = bodies.slice(start, start + 10);
      const result = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((body, i) => ({ Id: String(start + i), MessageBody: body })),
        }),
      );
      const failed = result.Failed ?? [];
      if (failed.length > 0) {
        throw new Error(`SQS refused ${failed.length} message(s): ${failed.map((f) => f.Code).join(", ")}`);
      }
      for (const entry of result.Successful ?? []) ids[Number(entry.Id)] = entry.MessageId as string;
      sent += chunk.length;
      options.onSent?.(sent);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return ids;
}
