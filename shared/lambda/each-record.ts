import type { SQSBatchResponse, SQSRecord } from "aws-lambda";

/**
 * Handles an SQS batch one record at a time; a record whose handling throws (S3 or SQS failed) is returned as a
 * partial batch failure for SQS to redeliver, and the others are deleted.
 */
export async function eachRecordInTurn(
  records: SQSRecord[],
  handle: (record: SQSRecord) => Promise<void>,
  onError: (record: SQSRecord, error: unknown) => void,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of records) {
    try {
      await handle(record);
    } catch (error) {
      onError(record, error);
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
