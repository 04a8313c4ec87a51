import type { SQSRecord } from "aws-lambda";
import type { z } from "zod";
import type { Logger } from "./logger.ts";
import type { DeadLetters } from "../contracts/queue-control.ts";

/**
 * The record's body as `schema` reads it (JSON text, then shape), or undefined when it cannot be: such a poison
 * message can never succeed, so it goes straight to the DLQ with the reason, instead of looping on the queue.
 */
export async function parseOrDeadLetter<S extends z.ZodType>(
  record: SQSRecord,
  schema: S,
  what: string,
  deps: { queue: DeadLetters; logger: Logger; now: number },
): Promise<z.infer<S> | undefined> {
  const parsed = schema.safeParse(record.body);
  if (parsed.success) return parsed.data;
  const firstReceivedAt = Number(record.attributes.ApproximateFirstReceiveTimestamp);
  await deps.queue.deadLetter(record.body, {
    code: "invalid_message",
    message: `message body is not a valid ${what} (JSON with the expected shape)`,
    attempts: Number(record.attributes.ApproximateReceiveCount ?? "1"),
    ...(Number.isFinite(firstReceivedAt) && firstReceivedAt > 0
      ? { firstAttemptAt: new Date(firstReceivedAt).toISOString() }
      : {}),
    lastFailureAt: new Date(deps.now).toISOString(),
  });
  deps.logger.error("invalid message dead-lettered", { messageId: record.messageId, what });
  return undefined;
}
