import { randomUUID } from "node:crypto";
import type { S3Event, SQSEvent } from "aws-lambda";
import type { SplitFailureRecord } from "../shared/contracts/split-failure.ts";

/**
 * What the splitter receives from its split-failures queue once Lambda gave up on an asynchronous invocation: the
 * invocation record Lambda sends to the on-failure destination (the event, and the last attempt's error), as one
 * SQS record.
 */
export function splitFailureEvent(event: S3Event, error: unknown, requestId: string, attempts: number): SQSEvent {
  const failure = error instanceof Error ? error : new Error(String(error));
  const record: SplitFailureRecord = {
    timestamp: new Date().toISOString(),
    requestContext: { requestId, condition: "RetriesExhausted", approximateInvokeCount: attempts },
    requestPayload: event,
    responsePayload: { errorType: failure.name, errorMessage: failure.message },
  };
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: "local",
        body: JSON.stringify(record),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: now,
          SenderId: "local",
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:marketo-ingest-split-failures",
        awsRegion: "us-east-1",
      },
    ],
  };
}
