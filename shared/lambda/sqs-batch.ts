import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";

/** Thrown by a record handler whose message should come back later: a wait, not an error worth logging. */
export class RetryLater extends Error {
  override readonly name = "RetryLater";
}

export interface SqsBatchOptions {
  /** Records in parallel (independent requests) or one after the other (steps that share slots or files). */
  inParallel: boolean;
  /** Called for a record whose handler failed (not for RetryLater); log ids and codes, never bodies. */
  onError: (record: SQSRecord, error: unknown) => void;
}

/**
 * Handles an SQS batch with Powertools' BatchProcessor: a record whose handler throws is returned as a partial
 * batch failure for SQS to redeliver, the others are deleted. A batch in which every record waits (the daily
 * quota, say) is normal here, so it is answered as failures rather than thrown as a function error.
 */
export async function processSqsBatch(
  records: SQSRecord[],
  handle: (record: SQSRecord) => Promise<void>,
  options: SqsBatchOptions,
): Promise<SQSBatchResponse> {
  const response = await processPartialResponse(
    { Records: records },
    async (record: SQSRecord) => {
      try {
        await handle(record);
      } catch (error) {
        if (!(error instanceof RetryLater)) options.onError(record, error);
        throw error;
      }
    },
    new BatchProcessor(EventType.SQS),
    { processInParallel: options.inParallel, throwOnFullBatchFailure: false },
  );
  return { batchItemFailures: response.batchItemFailures };
}
