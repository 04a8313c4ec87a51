import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../../local/local-aws.ts";
import { runSqsEventSource } from "../../local/sqs-event-source.ts";
import { systemClock } from "../../shared/time/clock.ts";

describe("local SQS event source", () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws({ visibilityTimeoutSeconds: 30 });
  });
  afterAll(() => aws.close());

  it("adds up how long the handler ran over its invocations, the duration Lambda bills", async () => {
    await aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: aws.intakeQueueUrl,
        Entries: Array.from({ length: 6 }, (_, i) => ({ Id: `m${i}`, MessageBody: `{"n":${i}}` })),
      }),
    );
    const stats = await runSqsEventSource({
      sqs: aws.sqs,
      queueUrl: aws.intakeQueueUrl,
      batchSize: 2,
      maxConcurrency: 1,
      functionTimeoutMs: 10_000,
      deadlineMs: 30_000,
      clock: systemClock,
      // At least 40 ms per invocation: a lower bound that holds however slow the machine is.
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 40));
        return { batchItemFailures: [] };
      },
    });
    expect(stats.messagesDeleted).toBe(6);
    expect(stats.invocations).toBeGreaterThanOrEqual(3);
    expect(stats.handlerMs).toBeGreaterThanOrEqual(40 * stats.invocations - stats.invocations);
  });
});
