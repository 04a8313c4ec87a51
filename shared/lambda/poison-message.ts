import type { SQSRecord } from "aws-lambda";
import type { z } from "zod";
import type { Logger } from "./logger.ts";
import type { DeadLetters } from "../contracts/queue-control.ts";
import { describeIssues } from "../text/issues.ts";

interface PoisonDeps {
  queue: DeadLetters;
  logger: Logger;
  now: number;
}

/**
 * The record's body as `schema` reads it (JSON text, then shape), or undefined when it cannot be: such a poison
 * message can never succeed, so it goes straight to the DLQ with the reason, instead of looping on the queue.
 */
export async function parseOrDeadLetter<S extends z.ZodType>(
  record: SQSRecord,
  schema: S,
  what: string,
  deps: PoisonDeps,
): Promise<z.infer<S> | undefined> {
  const parsed = schema.safeParse(record.body);
  if (parsed.success) return parsed.data;
  await deadLetterInvalid(record, what, describeIssues(parsed.error.issues), deps);
  return undefined;
}

/**
 * Dead-letters a message that is not a valid `what`, with the reason (`path: problem; …`) as its `message`
 * attribute. It is never acted on: nothing is sent, nothing is written to a report.
 */
export async function deadLetterInvalid(record: SQSRecord, what: string, reason: string, deps: PoisonDeps) {
  const firstReceivedAt = Number(record.attributes.ApproximateFirstReceiveTimestamp);
  await deps.queue.deadLetter(record.body, {
    code: "invalid_message",
    message: `not a valid ${what}: ${reason}`,
    attempts: Number(record.attributes.ApproximateReceiveCount ?? "1"),
    ...(Number.isFinite(firstReceivedAt) && firstReceivedAt > 0
      ? { firstAttemptAt: new Date(firstReceivedAt).toISOString() }
      : {}),
    lastFailureAt: new Date(deps.now).toISOString(),
  });
  // The reason names paths and rules, never values: it is safe to log.
  deps.logger.error("invalid message dead-lettered", { messageId: record.messageId, what, reason });
}
